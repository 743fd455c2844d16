"""Custom Rasa graph components: blank-spaCy tokenizer, rule-based entities, triage annotation, safety policy.

Referenced by module path from ``config.yml``; Rasa imports them when it builds the graph.
"""
