"""The SMS channel's logic: keyword routing, what each keyword does, status texts and updates."""
