"""Text layer: tokens, dictionaries and the text statistics every stage shares."""
