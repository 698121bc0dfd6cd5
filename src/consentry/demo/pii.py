"""Realistic personal data and look-alikes, seeded, with labelled spans to test and bench redaction.

Every value is made up (reserved ranges such as 555-01xx, 07700 900xxx and 2001:db8:: where a format
has one), but each has the shape found in real posts, in the formats of DE, FR, UK and US.
"""

from __future__ import annotations

import ipaddress
import random
import string

PII_KINDS = ("EMAIL", "PHONE", "IP", "CARD", "ADDRESS", "URL")

Span = tuple[int, int, str]

_FIRST = (
    "anna lukas marie jean oliver emma mohammed sofia chen priya noah lea camille james "
    "fatima mateo olga kenji amelia hugo"
).split()
_LAST = (
    "mueller schmidt dubois martin smith jones garcia nguyen rossi kowalski okafor tanaka "
    "fischer bernard taylor silva weber patel"
).split()
_MAIL_DOMAINS = (
    "gmail.com outlook.com web.de gmx.de orange.fr free.fr proton.me yahoo.co.uk "
    "btinternet.com icloud.com uni-heidelberg.de acme-corp.com"
).split()


def _digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def _handle(rng: random.Random) -> str:
    first, last = rng.choice(_FIRST), rng.choice(_LAST)
    return rng.choice(
        [
            f"{first}_{last}",
            f"{first}{rng.randint(1, 99)}",
            f"{first[0]}{last}",
            f"{first.capitalize()}{last.capitalize()}",
        ]
    )


def _email(rng: random.Random) -> str:
    first, last, domain = rng.choice(_FIRST), rng.choice(_LAST), rng.choice(_MAIL_DOMAINS)
    return rng.choice(
        [
            f"{first}.{last}@{domain}",
            f"{first}{last}{rng.randint(1, 99)}@{domain}",
            f"{first[0]}.{last}+{rng.choice(['news', 'shop', 'work'])}@{domain}",
            f"{first}_{last}@{domain}",
            f"{first.capitalize()}.{last.capitalize()}@{domain}",
        ]
    )


def _phone(rng: random.Random) -> str:
    area = rng.choice(["415", "212", "617", "312", "206", "512"])
    line = f"01{_digits(rng, 2)}"
    d3, d7, d8 = _digits(rng, 3), f"{rng.randint(1, 9)}{_digits(rng, 6)}", _digits(rng, 8)
    d8 = f"{rng.randint(1, 9)}{d8[1:]}"
    pairs = [_digits(rng, 2) for _ in range(4)]
    fr_first = rng.choice("1234567")
    return rng.choice(
        [
            f"({area}) 555-{line}",
            f"{area}-555-{line}",
            f"{area}.555.{line}",
            f"+1 ({area}) 555-{line}",
            f"+1 {area} 555 {line}",
            f"+1-{area}-555-{line}",
            f"07700 900{d3}",
            f"+44 7700 900{d3}",
            f"020 7946 0{d3}",
            f"+44 20 7946 0{d3}",
            f"+44 (0)20 7946 0{d3}",
            f"01632 960{d3}",
            f"030 {d8}",
            f"030/{d8}",
            f"0151 {d8}",
            f"089 {d7}",
            f"+49 30 {d8}",
            f"+49 151 {d8}",
            f"0{fr_first} " + " ".join(pairs),
            f"0{fr_first}." + ".".join(pairs),
            f"+33 {fr_first} " + " ".join(pairs),
        ]
    )


def _ip(rng: random.Random) -> str:
    kind = rng.choice(["v4", "v4", "v6full", "v6short"])
    if kind == "v4":
        first = rng.choice([10, 172, 192, rng.randint(1, 223)])
        return ".".join(str(p) for p in [first, *(rng.randint(0, 255) for _ in range(3))])
    groups = [0x2001, 0x0DB8] + [rng.choice([0, 0, rng.randint(1, 0xFFFF)]) for _ in range(6)]
    address = ipaddress.IPv6Address(sum(g << (16 * (7 - i)) for i, g in enumerate(groups)))
    return address.exploded if kind == "v6full" else address.compressed


def luhn_check_digit(payload: str) -> str:
    """The digit that makes ``payload + digit`` pass the Luhn check."""
    total = 0
    for i, ch in enumerate(reversed(payload)):
        d = int(ch) * (2 if i % 2 == 0 else 1)
        total += d - 9 if d > 9 else d
    return str((10 - total % 10) % 10)


def _card_digits(rng: random.Random, *, valid: bool = True) -> str:
    prefix, length = rng.choice(
        [
            ("4", 16),
            ("4", 16),
            (str(rng.randint(51, 55)), 16),
            ("2221", 16),
            (rng.choice(["34", "37"]), 15),
        ]
    )
    payload = prefix + _digits(rng, length - len(prefix) - 1)
    check = luhn_check_digit(payload)
    if not valid:
        check = str((int(check) + rng.randint(1, 9)) % 10)
    return payload + check


def _group_card(number: str, sep: str) -> str:
    sizes = [4, 6, 5] if len(number) == 15 else [4, 4, 4, 4]
    parts, at = [], 0
    for size in sizes:
        parts.append(number[at : at + size])
        at += size
    return sep.join(parts)


def _card(rng: random.Random) -> str:
    return _group_card(_card_digits(rng), rng.choice([" ", "-", ""]))


_EN_STREETS = (
    "Baker|Oxford|Pennsylvania|Maple|Elm|Abbey|Victoria|High|Church|Mill|Station|Kings|"
    "Sunset|Ocean|Market|Mission|Valencia|Cedar Hill|Old Kent"
).split("|")
_EN_SUFFIXES = (
    "Street St Avenue Ave Road Rd Lane Boulevard Drive Way Place Court Close Crescent"
).split()
_DE_STEMS = (
    "Haupt Bahnhof Linden Goethe Schiller Berg Kirch Wald Friedrich Sonnen Rosen Müller"
).split()
_DE_SUFFIXES = ["straße", "strasse", "str.", "weg", "allee", "platz", "gasse"]
_FR_TYPES = ["rue", "avenue", "boulevard", "place", "chemin", "impasse", "quai", "Rue"]
_FR_NAMES = (
    "de la Paix|du Faubourg Saint-Honoré|des Champs-Élysées|Victor Hugo|Saint-Michel|"
    "de l'Église|Bellecour|d'Alsace|de Rivoli|Gambetta"
).split("|")


def _address(rng: random.Random) -> str:
    country = rng.choice(["en", "en", "de", "fr"])
    number = str(rng.randint(1, 2400 if country == "en" else 180))
    if country == "en":
        number += rng.choice(["", "", "", "", "B", "A"])
        direction = rng.choice(["", "", "", "", " NW", " SE"])
        return f"{number} {rng.choice(_EN_STREETS)} {rng.choice(_EN_SUFFIXES)}{direction}"
    if country == "de":
        number += rng.choice(["", "", "", "a"])
        if rng.random() < 0.25:
            city = rng.choice(["Berliner", "Kölner", "Münchner", "Hamburger"])
            return f"{city} {rng.choice(['Straße', 'Weg', 'Allee', 'Platz'])} {number}"
        return f"{rng.choice(_DE_STEMS)}{rng.choice(_DE_SUFFIXES)} {number}"
    number += rng.choice(["", "", "", "", " bis"])
    return f"{number} {rng.choice(_FR_TYPES)} {rng.choice(_FR_NAMES)}"


def _doc_id(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.ascii_letters + string.digits + "-_") for _ in range(n))


def _url(rng: random.Random) -> str:
    handle, first, last = _handle(rng), rng.choice(_FIRST), rng.choice(_LAST)
    return rng.choice(
        [
            f"https://x.com/{handle}",
            f"https://twitter.com/{handle}",
            f"x.com/{handle}",
            f"https://mastodon.social/@{handle}",
            f"https://fosstodon.org/@{handle}",
            f"https://www.instagram.com/{handle}/",
            f"https://www.tiktok.com/@{handle}",
            f"https://www.youtube.com/@{handle}",
            f"https://medium.com/@{handle}",
            f"https://www.linkedin.com/in/{first}-{last}-{_digits(rng, 3)}a{_digits(rng, 2)}",
            f"https://facebook.com/{first}.{last}",
            f"https://www.facebook.com/{handle}",
            f"https://docs.google.com/document/d/{_doc_id(rng, 44)}/edit",
            f"https://docs.google.com/spreadsheets/d/{_doc_id(rng, 44)}/edit#gid=0",
            f"https://drive.google.com/file/d/{_doc_id(rng, 33)}/view?usp=sharing",
            f"https://www.dropbox.com/s/{_doc_id(rng, 15).lower()}/cv.pdf?dl=0",
            f"https://dropbox.com/s/{_doc_id(rng, 15).lower()}/cv.pdf",
        ]
    )


_GENERATORS = {
    "EMAIL": _email,
    "PHONE": _phone,
    "IP": _ip,
    "CARD": _card,
    "ADDRESS": _address,
    "URL": _url,
}


def pii_value(kind: str, rng: random.Random) -> str:
    """One value of a PII kind (one of ``PII_KINDS``) in one of its usual formats."""
    return _GENERATORS[kind](rng)


def _isbn13(rng: random.Random) -> str:
    body = "978" + _digits(rng, 9)
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return rng.choice([f"{body[:3]}-{body[3]}-{body[4:6]}-{body[6:12]}-{check}", body + str(check)])


_NEGATIVES = {
    "order": lambda r: r.choice(
        [
            f"#{r.randint(100000, 99999999)}",
            f"ORD-2024-{_digits(r, 6)}",
            f"{r.randint(100, 999)}-{_digits(r, 7)}-{_digits(r, 7)}",
        ]
    ),
    "isbn": _isbn13,
    "number": lambda r: _group_card(_card_digits(r, valid=False), r.choice([" ", "-", ""])),
    "date": lambda r: r.choice(
        [
            f"2024-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
            f"{r.randint(1, 28):02d}.{r.randint(1, 12):02d}.2025",
            f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/2023",
            f"{r.randint(1, 28)} March 2024",
        ]
    ),
    "price": lambda r: r.choice(
        [
            f"${r.randint(1, 9)},{_digits(r, 3)}.99",
            f"€{r.randint(5, 99)},00",
            f"£{r.randint(1, 40)}.50",
            f"{r.randint(1, 9)} {_digits(r, 3)} €",
        ]
    ),
    "version": lambda r: r.choice(
        [
            f"v{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}",
            f"3.{r.randint(8, 13)}.{r.randint(0, 12)}",
        ]
    ),
    "site": lambda r: r.choice(
        [
            "https://example.com/news",
            "https://www.bbc.co.uk/news/technology",
            "https://en.wikipedia.org/wiki/Luhn_algorithm",
            "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
            "https://docs.python.org/3/library/re.html",
            "https://www.gov.uk/browse/tax",
            "https://arrow.apache.org/",
        ]
    ),
}


def negative_value(rng: random.Random) -> str:
    """A look-alike that is not personal data: order numbers, ISBNs, dates, prices, plain sites."""
    return _NEGATIVES[rng.choice(list(_NEGATIVES))](rng)


_PII_TEMPLATES = {
    "EMAIL": [
        "Email me at {} if you want the notes.",
        "my address is {}",
        "Contact: {}",
        "write to {} 🙏",
        "Schreib mir an {}.",
        "Écrivez-moi à {} !",
    ],
    "PHONE": [
        "Call me on {} after 6.",
        "my number: {}",
        "Ruf mich an: {}",
        "Appelle-moi au {} !",
        "text {} pls",
        "WhatsApp {} 📱",
    ],
    "IP": [
        "My server is at {} and it keeps dropping.",
        "blocked {} again",
        "ssh into {} failed",
        "login from {} — not me!",
    ],
    "CARD": [
        "Charged twice on card {} 😡",
        "card number {} was declined",
        "new card {}, expiry 09/27",
        "Meine Kreditkarte {} wurde gesperrt.",
    ],
    "ADDRESS": [
        "Party at {} tonight!",
        "We moved to {}, come visit.",
        "Package went to {} instead",
        "Wir wohnen jetzt in der {} in Berlin.",
        "Rendez-vous au {} à 19h.",
    ],
    "URL": [
        "My CV: {}",
        "follow me {}",
        "Here's my profile {} 👋",
        "shared the doc: {}",
        "new account → {}",
    ],
}
_NEGATIVE_TEMPLATES = {
    "order": ["Order {} has shipped.", "Where is my order {}?"],
    "isbn": ["ISBN {} is out of print.", "The book (ISBN {}) is great."],
    "number": ["Reference {} on the invoice.", "Tracking number {} still not moving."],
    "date": ["Meeting on {}.", "Released {} — finally."],
    "price": ["Paid {} for it.", "Now only {}!"],
    "version": ["Update to {} fixes it.", "Running {} here."],
    "site": ["Read {}", "Source: {}"],
}
_FILLERS = (
    "Café ☕ with friends this morning 🎉|Grüße aus München!|Ça va très bien, merci.|"
    "Just finished 10k steps 💪|Who's watching the match tonight?|"
    "naïve question: does anyone use Rust?|新年快乐 🧧|Loving this weather ☀️|Thread 🧵 1/3|"
    "lol same|¿Dónde está la biblioteca?|Back at 9:30 tomorrow."
).split("|")
_MENTIONS = ["cc @{}", "thanks @{}!", "@{} agreed", "what do you think, @{}?"]


def _fill(template: str, value: str) -> tuple[str, int]:
    before, _, after = template.partition("{}")
    return before + value + after, len(before)


def labelled_post(rng: random.Random, *, pii_probability: float = 0.3) -> tuple[str, list[Span]]:
    """A short post of one to three sentences, with the (start, end, kind) of each PII value.

    Offsets are in code points (Python string indices). Look-alikes and @mentions are unlabelled.
    """
    parts: list[str] = []
    spans: list[Span] = []
    at = 0
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        if roll < pii_probability:
            kind = rng.choice(PII_KINDS)
            value = pii_value(kind, rng)
            sentence, offset = _fill(rng.choice(_PII_TEMPLATES[kind]), value)
            spans.append((at + offset, at + offset + len(value), kind))
        elif roll < pii_probability + 0.3:
            kind = rng.choice(list(_NEGATIVES))
            sentence, _ = _fill(rng.choice(_NEGATIVE_TEMPLATES[kind]), _NEGATIVES[kind](rng))
        elif roll < pii_probability + 0.4:
            sentence, _ = _fill(rng.choice(_MENTIONS), _handle(rng))
        else:
            sentence = rng.choice(_FILLERS)
        parts.append(sentence)
        at += len(sentence) + 1
    return " ".join(parts), spans


def labelled_corpus(n: int, seed: int) -> list[tuple[str, list[Span]]]:
    """``n`` labelled posts, the same for the same seed."""
    rng = random.Random(seed)
    return [labelled_post(rng) for _ in range(n)]


def score_spans(gold: list[list[Span]], found: list[list[Span]]) -> dict[str, dict[str, float]]:
    """Per kind: labelled, found, recall (labelled values whose every character a found span of
    that kind covers: a partly redacted value leaks) and precision (found spans that overlap a
    labelled value of their kind)."""
    out: dict[str, dict[str, float]] = {}
    for kind in PII_KINDS:
        labelled = covered = spans = hits = 0
        for labels, got in zip(gold, found, strict=True):
            want = [s for s in labels if s[2] == kind]
            have = [s for s in got if s[2] == kind]
            labelled, spans = labelled + len(want), spans + len(have)
            chars = {i for start, end, _ in have for i in range(start, end)}
            covered += sum(set(range(start, end)) <= chars for start, end, _ in want)
            hits += sum(any(start < e and s < end for s, e, _ in want) for start, end, _ in have)
        out[kind] = {
            "labelled": labelled,
            "found": spans,
            "recall": covered / labelled if labelled else float("nan"),
            "precision": hits / spans if spans else float("nan"),
        }
    return out
