"""Patient photos: checked, cleaned, stored outside the web root, shown only to staff.

``images`` checks and re-encodes the bytes (type by content, EXIF and location dropped),
``store`` keeps the files under random names, ``fetch`` downloads them from the providers,
``intake`` records them with the conversation and raises the flag, ``texts`` holds the
sentences patients and staff see about photos.
"""
