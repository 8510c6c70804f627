"""Word lists the synthetic world is written from.

Everything here is invented for the emulator: no text, handle or URL comes from real X
content. Sentiment lists are parallel across languages (index i of `POSITIVE["es"]`
translates index i of `POSITIVE["en"]`), so a non-English tweet's English translation is
the same template filled with the same choices.
"""

from __future__ import annotations

# topic -> (search terms, hashtags without "#"). The first term is the topic's keyword.
TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...]]] = {
    "python": (("python", "pandas", "asyncio", "type hints", "pytest"), ("python", "pydata")),
    "dagster": (
        ("dagster", "data pipelines", "orchestration", "asset graphs"),
        ("dagster", "dataengineering"),
    ),
    "climate": (
        ("climate", "emissions", "solar power", "renewables", "heat records"),
        ("climate", "climateaction"),
    ),
    "ai": (("ai", "llm", "gpu clusters", "inference", "embeddings"), ("ai", "machinelearning")),
    "football": (("football", "the match", "transfer window", "league table"), ("football", "matchday")),
    "music": (("music", "new album", "the concert", "playlist", "vinyl"), ("music", "nowplaying")),
    "coffee": (("coffee", "espresso", "latte art", "cold brew"), ("coffee",)),
    "space": (("space", "rocket launch", "orbit", "telescope"), ("space", "astronomy")),
    "gaming": (("gaming", "speedrun", "the patch", "indie games"), ("gaming",)),
    "cooking": (("cooking", "sourdough", "pasta", "meal prep"), ("foodie", "cooking")),
    "rust": (("rust", "cargo", "borrow checker"), ("rustlang",)),
    "data": (("sql", "duckdb", "data warehouse", "dashboards"), ("data", "analytics")),
}
# Relative share of conversation per topic; the watchlist topics are the common ones.
TOPIC_WEIGHTS: dict[str, float] = {
    "python": 3.0,
    "ai": 3.0,
    "climate": 2.5,
    "dagster": 1.6,
    "football": 2.0,
    "music": 1.5,
    "coffee": 1.0,
    "space": 1.2,
    "gaming": 1.2,
    "cooking": 1.0,
    "rust": 0.8,
    "data": 1.4,
}
WATCH_TERMS = ("python", "dagster", "climate", "#ai")

LANGS = ("en", "es", "fr", "de", "pt", "ja")
LANG_WEIGHTS = (86.0, 5.0, 3.0, 2.5, 2.0, 1.5)

POSITIVE = {
    "en": ("great", "amazing", "excellent", "fantastic", "wonderful", "brilliant", "awesome", "superb"),
    "es": (
        "genial",
        "increíble",
        "excelente",
        "fantástico",
        "maravilloso",
        "brillante",
        "estupendo",
        "magnífico",
    ),
    "fr": ("génial", "incroyable", "excellent", "fantastique", "merveilleux", "brillant", "super", "superbe"),
    "de": (
        "großartig",
        "unglaublich",
        "exzellent",
        "fantastisch",
        "wunderbar",
        "brillant",
        "genial",
        "hervorragend",
    ),
    "pt": ("ótimo", "incrível", "excelente", "fantástico", "maravilhoso", "brilhante", "demais", "soberbo"),
    "ja": ("最高", "素晴らしい", "見事", "最高すぎる", "素敵", "見事すぎる", "すごい", "完璧"),
}
NEGATIVE = {
    "en": ("terrible", "awful", "frustrating", "disappointing", "broken", "horrible", "annoying", "useless"),
    "es": ("terrible", "horrible", "frustrante", "decepcionante", "roto", "espantoso", "molesto", "inútil"),
    "fr": ("terrible", "affreux", "frustrant", "décevant", "cassé", "horrible", "agaçant", "inutile"),
    "de": (
        "schrecklich",
        "furchtbar",
        "frustrierend",
        "enttäuschend",
        "kaputt",
        "grauenhaft",
        "nervig",
        "nutzlos",
    ),
    "pt": (
        "terrível",
        "horrível",
        "frustrante",
        "decepcionante",
        "quebrado",
        "péssimo",
        "irritante",
        "inútil",
    ),
    "ja": ("最悪", "ひどい", "残念", "がっかり", "壊れてる", "最低", "うざい", "役に立たない"),
}
# Templates per language and sentiment; {t} is a topic term, {w} a sentiment word.
TEMPLATES = {
    "en": {
        "positive": (
            "Really {w} to see how {t} turned out today",
            "Spent the morning on {t} and it was {w}",
            "Honestly {t} keeps getting better, {w} work everyone",
            "{t} this week? {w}, no notes",
        ),
        "negative": (
            "Really {w} to see how {t} turned out today",
            "Spent the morning on {t} and it was {w}",
            "{t} is {w} again and nobody seems to care",
            "Tried {t} once more, still {w}",
        ),
        "neutral": (
            "Reading about {t} this afternoon",
            "New notes on {t} are up",
            "Meeting later to talk through {t} and the schedule",
            "Thinking about {t} for next week",
        ),
    },
    "es": {
        "positive": ("De verdad {w} ver cómo salió {t} hoy", "Pasé la mañana con {t} y fue {w}"),
        "negative": ("De verdad {w} ver cómo salió {t} hoy", "Pasé la mañana con {t} y fue {w}"),
        "neutral": ("Leyendo sobre {t} esta tarde", "Nuevas notas sobre {t} publicadas"),
    },
    "fr": {
        "positive": ("Vraiment {w} de voir {t} aujourd'hui", "Matinée passée sur {t} et c'était {w}"),
        "negative": ("Vraiment {w} de voir {t} aujourd'hui", "Matinée passée sur {t} et c'était {w}"),
        "neutral": ("Je lis sur {t} cet après-midi", "Nouvelles notes sur {t} en ligne"),
    },
    "de": {
        "positive": (
            "Wirklich {w} zu sehen, wie {t} heute lief",
            "Den Morgen mit {t} verbracht und es war {w}",
        ),
        "negative": (
            "Wirklich {w} zu sehen, wie {t} heute lief",
            "Den Morgen mit {t} verbracht und es war {w}",
        ),
        "neutral": ("Lese heute Nachmittag über {t}", "Neue Notizen zu {t} sind online"),
    },
    "pt": {
        "positive": ("Muito {w} ver como {t} ficou hoje", "Passei a manhã com {t} e foi {w}"),
        "negative": ("Muito {w} ver como {t} ficou hoje", "Passei a manhã com {t} e foi {w}"),
        "neutral": ("Lendo sobre {t} esta tarde", "Novas notas sobre {t} publicadas"),
    },
    "ja": {
        "positive": ("今日の {t} は{w}", "朝から {t} をやって{w}でした"),
        "negative": ("今日の {t} は{w}", "朝から {t} をやって{w}でした"),
        "neutral": ("午後は {t} について読んでいます", "{t} の新しいメモを公開しました"),
    },
}
FILLERS = (
    "More soon.",
    "Thoughts?",
    "Thread below.",
    "Details in the link.",
    "cc the team.",
    "Saving this for later.",
    "Long week.",
    "🙂",
    "🔥",
    "📌",
)
REPLY_OPENERS = {
    "positive": ("Agreed, {w} point", "Love this, {w}", "So {w}, thanks for sharing"),
    "negative": ("Not convinced, this is {w}", "Hard disagree, {w} take", "Honestly {w}"),
    "neutral": ("Interesting, following", "Noted", "Any source for this?"),
}
QUOTE_OPENERS = {
    "positive": ("This is {w}", "{w} thread worth reading"),
    "negative": ("This is {w}", "What a {w} idea"),
    "neutral": ("Worth a look", "Context for this"),
}

SYLLABLES = (
    "ka",
    "lo",
    "mi",
    "ra",
    "ten",
    "vo",
    "li",
    "sa",
    "dor",
    "ni",
    "el",
    "an",
    "tor",
    "bel",
    "fin",
    "gra",
    "zu",
    "pe",
    "mar",
    "os",
    "ri",
    "ta",
    "ven",
    "ko",
    "lu",
    "sen",
    "da",
    "ho",
)
CITIES = (
    "Lisbon",
    "Nairobi",
    "Toronto",
    "Osaka",
    "Austin",
    "Berlin",
    "Lagos",
    "Lima",
    "Oslo",
    "Pune",
    "Seoul",
    "Leeds",
    "Porto",
    "Quito",
    "Perth",
    "Hanoi",
    "Accra",
    "Tartu",
    "Cork",
    "Graz",
)
BIO_TEMPLATES = (
    "Writing about {a} and {b}.",
    "{A} enthusiast. Opinions my own.",
    "Building things with {a}. Sometimes {b}.",
    "Into {a}, {b} and long walks.",
    "Here for {a} news.",
    "",
)
PROFESSIONS = (
    ("Software Developer", 1001),
    ("Science & Technology", 713),
    ("Journalist", 955),
    ("Musician", 1023),
    ("Community", 1009),
    ("Education", 580),
)
DOMAINS = ("example.com", "blog.example.org", "news.example.net", "docs.example.dev", "shop.example.io")
SOURCES = (
    ("https://mobile.twitter.com", "Twitter Web App"),
    ("http://twitter.com/download/iphone", "Twitter for iPhone"),
    ("http://twitter.com/download/android", "Twitter for Android"),
    ("https://example.com/xget-bot", "xget-scheduler"),
)
SOURCE_WEIGHTS = (45, 30, 22, 3)
BURST_TERMS = (
    "solarstorm",
    "serverdown",
    "finalsweek",
    "launchday",
    "heatdome",
    "stormwatch",
    "bigrelease",
    "deadlineday",
    "datadrop",
    "newalbumday",
    "eclipsewatch",
    "cupfinal",
)
PLACES = (
    ("07d9c93a5b1c0001", "Lisbon", "Lisbon, Portugal", "Portugal", "PT", -9.14, 38.72),
    ("07d9c93a5b1c0002", "Austin", "Austin, TX", "United States", "US", -97.74, 30.27),
    ("07d9c93a5b1c0003", "Osaka", "Osaka, Japan", "Japan", "JP", 135.50, 34.69),
    ("07d9c93a5b1c0004", "Nairobi", "Nairobi, Kenya", "Kenya", "KE", 36.82, -1.29),
)
ALT_TEXTS = (
    "A chart with a rising line",
    "Screenshot of a terminal",
    "A cup on a desk",
    "A crowd at a stadium",
    "A night sky over hills",
)
# Communities per topic: (topic, name, primary topic name, description).
COMMUNITIES = (
    ("python", "Pythonistas", "Programming", "Everything Python: questions, releases, talks. Be kind."),
    ("football", "Matchday Talk", "Soccer", "Match threads, transfer rumours and tactics for every league."),
    ("space", "Stargazers", "Space", "Launches, telescopes and night-sky photos from members."),
    ("music", "Vinyl Club", "Music", "Records we love, gigs we saw, playlists we keep."),
    ("gaming", "Speedrunners", "Gaming", "Routes, splits and world records. Show your runs."),
)
COMMUNITY_RULES = (
    ("Keep posts on topic.", None),
    ("Be respectful.", "No insults, harassment or hate. You will be removed."),
    ("No spam or self-promotion.", None),
    ("No politics.", None),
    ("Credit the original creator.", "Share sources for clips and photos you did not make."),
)
# Where "About this account" places an account: by the city in its profile, else by its language.
CITY_COUNTRIES = {
    "Lisbon": "Portugal",
    "Nairobi": "Kenya",
    "Toronto": "Canada",
    "Osaka": "Japan",
    "Austin": "United States",
    "Berlin": "Germany",
    "Lagos": "Nigeria",
    "Lima": "Peru",
    "Oslo": "Norway",
    "Pune": "India",
    "Seoul": "South Korea",
    "Leeds": "United Kingdom",
    "Porto": "Portugal",
    "Quito": "Ecuador",
    "Perth": "Australia",
    "Hanoi": "Vietnam",
    "Accra": "Ghana",
    "Tartu": "Estonia",
    "Cork": "Ireland",
    "Graz": "Austria",
}
LANG_COUNTRIES = {
    "en": ("United States", "United Kingdom", "Canada", "Australia", "India", "Nigeria"),
    "es": ("Spain", "Mexico", "Argentina", "Colombia"),
    "fr": ("France", "Canada", "Belgium"),
    "de": ("Germany", "Austria", "Switzerland"),
    "pt": ("Brazil", "Portugal"),
    "ja": ("Japan",),
}
# Regions X shows instead of a country for some accounts (X-Posed's README: "country or regional label").
X_REGIONS = ("Europe", "North America", "South Asia", "West Africa", "East Asia", "South America")
# The deep corner of the world (see deep.py): a term posted thousands of times on one day, and the
# subject of the famous account's posts.
FLOOD_TERM = "xgetflood"
FAMOUS_TERM = "xgetfamous"
