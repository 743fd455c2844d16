"""Offline evaluations that back configuration choices with measured figures."""
