"""The one definition of which characters count as Chinese (CJK ideographs) for every text rule."""

CJK = "\u3400-\u9fff"  # CJK Unified Ideographs with Extension A, as the body of a regex character class
