"""Write ``posts.jsonl``: labelled posts the redactor's rules were not written from.

The values come from outside this project: street addresses from Faker's locale providers (EU
countries, the UK, the US, Canada, Brazil, Japan), phone numbers from the example numbers of
``phonenumbers`` (34 countries; the last digits varied and the result checked valid, written in
national, international and E.164 formats), payment cards from Faker (Luhn-valid, every length
from 13 to 19 digits, grouped with spaces or dashes or not at all), e-mail local parts from
Faker's user names. Posts are written from templates in ten languages, with the value at the
start, in the middle or at the end, next to punctuation and emoji. Look-alikes (versions,
prices, order and tracking numbers, ISBNs, dates, coordinates, hashes, timestamps, plain
links) are written into the same posts, unlabelled.

A label is ``[start, end, type]`` in code points. An address label is the street part (street,
house number, flat); a postcode and city written after it, and a Japanese address's prefecture,
city and district written before its block number, are context, not labelled. Faker's output
depends on its version, so the file is kept in the repository and this script regenerates it:

    python tests/data/pii_eval/generate.py      (needs the dev extra: faker, phonenumbers)
"""

from __future__ import annotations

import ipaddress
import json
import os
import random
import string
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import phonenumbers
from faker import Faker
from phonenumbers import PhoneNumberFormat, PhoneNumberType

SEED = 20_261_202
OUT = Path(__file__).with_name("posts.jsonl")

# Faker locale -> post language. Locales whose street_address has no house number are left out
# of the address generator only when it gives one without digits (then it is drawn again).
ADDRESS_LOCALES = {
    "de_DE": "de",
    "de_AT": "de",
    "fr_FR": "fr",
    "es_ES": "es",
    "it_IT": "it",
    "nl_NL": "nl",
    "nl_BE": "nl",
    "pl_PL": "pl",
    "pt_PT": "pt",
    "sv_SE": "sv",
    "da_DK": "en",
    "fi_FI": "en",
    "en_IE": "en",
    "en_GB": "en",
    "en_US": "en",
    "en_CA": "en",
    "fr_CA": "fr",
    "pt_BR": "pt",
    "ja_JP": "ja",
}
PHONE_REGIONS = {
    "US": "en", "CA": "en", "GB": "en", "IE": "en", "DE": "de", "AT": "de", "CH": "de",
    "FR": "fr", "BE": "fr", "NL": "nl", "LU": "fr", "ES": "es", "PT": "pt", "IT": "it",
    "PL": "pl", "CZ": "en", "SE": "sv", "DK": "en", "FI": "en", "NO": "en", "GR": "en",
    "HU": "en", "RO": "en", "BR": "pt", "MX": "es", "AR": "es", "JP": "ja", "KR": "en",
    "CN": "en", "IN": "en", "AU": "en", "NZ": "en", "SG": "en", "ZA": "en",
}  # fmt: skip
KIND_WEIGHTS = ["ADDRESS", "ADDRESS", "PHONE", "PHONE", "URL", "URL", "EMAIL", "IP", "CARD"]
LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pl", "pt", "sv", "ja")

# {} is the value; each language has it at the start, in the middle and at the end.
TEMPLATES = {
    "en": ["{} is the one to use.", "ok so {} works now, thanks!", "Here you go: {}"],
    "de": ["{} ist richtig, danke.", "Also: {} gilt ab heute.", "Hier bitte: {}"],
    "fr": ["{} est le bon, merci.", "Donc {} marche enfin !", "Voilà : {}"],
    "es": ["{} es el correcto.", "Entonces {} funciona, ¡gracias!", "Aquí está: {}"],
    "it": ["{} è quello giusto.", "Allora {} funziona, grazie!", "Ecco qui: {}"],
    "nl": ["{} is de goede.", "Dus {} werkt nu, bedankt!", "Alsjeblieft: {}"],
    "pl": ["{} jest poprawny.", "Więc {} działa, dzięki!", "Proszę: {}"],
    "pt": ["{} é o certo.", "Então {} funciona, obrigado!", "Aqui está: {}"],
    "sv": ["{} är rätt.", "Så {} fungerar nu, tack!", "Varsågod: {}"],
    "ja": ["{} です。", "えっと、{} でお願いします!", "こちら:{}"],
}
# What a value is written next to: punctuation, brackets, quotes, emoji (with and without space).
WRAPPERS = [
    "{}", "{}", "{}", "({})", "[{}]", '"{}"', "«{}»", "“{}”", "{}!", "{},", "{};", "{}…",
    "{} 🙂", "{}🎉", "👉 {}", "👉{}", "{} 📍", "「{}」",
]  # fmt: skip
FILLERS = {
    "en": ["Loving this weather ☀️", "lol same", "Thread 🧵 1/3", "Who's watching tonight?"],
    "de": ["Grüße aus München!", "Was für ein Tag 😅", "Endlich Wochenende."],
    "fr": ["Ça va très bien, merci.", "Quelle journée 😅", "Bon week-end !"],
    "es": ["¿Dónde está la biblioteca?", "¡Qué día! 😅", "Buen finde."],
    "it": ["Che giornata 😅", "Buon fine settimana!", "Ci vediamo dopo."],
    "nl": ["Wat een dag 😅", "Fijn weekend!", "Tot straks."],
    "pl": ["Co za dzień 😅", "Miłego weekendu!", "Do zobaczenia."],
    "pt": ["Que dia 😅", "Bom fim de semana!", "Até logo."],
    "sv": ["Vilken dag 😅", "Trevlig helg!", "Vi ses."],
    "ja": ["今日はいい天気 ☀️", "よろしくお願いします🙏", "またね!"],
}


def digits(rng: random.Random, n: int) -> str:
    return "".join(rng.choice(string.digits) for _ in range(n))


def fakers() -> dict[str, Faker]:
    out = {}
    for index, locale in enumerate(sorted({*ADDRESS_LOCALES, "en_US", "de_DE", "fr_FR"})):
        fake = Faker(locale)
        fake.seed_instance(SEED + index)
        out[locale] = fake
    return out


def address(rng: random.Random, fake: dict[str, Faker]) -> tuple[str, str, str, str]:
    """(text before, labelled street part, text after, language)."""
    locale = rng.choice(list(ADDRESS_LOCALES))
    f = fake[locale]
    if locale == "ja_JP":
        block = rng.choice(
            [
                f"{f.chome()}{f.ban()}{f.gou()}",
                f"{rng.randint(1, 9)}-{rng.randint(1, 30)}-{rng.randint(1, 20)}",
            ]
        )
        return f"{f.prefecture()}{f.city()}{f.town()}", block, "", "ja"
    street = ""
    while not any(c.isdigit() for c in street):
        street = f.street_address().replace("\n", ", ").strip()
    after = ""
    if rng.random() < 0.4:
        after = f", {f.postcode()} {f.city()}"
    return "", street, after, ADDRESS_LOCALES[locale]


def _varied(region: str, kind: int, rng: random.Random) -> phonenumbers.PhoneNumber:
    """The region's example number of that kind with its last three digits varied, if valid."""
    example = phonenumbers.example_number_for_type(region, kind)
    for _ in range(20):
        national = str(example.national_number)
        candidate = phonenumbers.parse(f"+{example.country_code}{national[:-3]}{digits(rng, 3)}")
        if phonenumbers.is_valid_number(candidate):
            return candidate
    return example


def phone(rng: random.Random) -> tuple[str, str]:
    region = rng.choice(list(PHONE_REGIONS))
    kind = rng.choice([PhoneNumberType.MOBILE, PhoneNumberType.FIXED_LINE])
    number = _varied(region, kind, rng)
    style = rng.choice(
        [PhoneNumberFormat.NATIONAL] * 3
        + [PhoneNumberFormat.INTERNATIONAL] * 2
        + [PhoneNumberFormat.E164]
    )
    return phonenumbers.format_number(number, style), PHONE_REGIONS[region]


CARD_TYPES = ["visa13", "visa16", "visa19", "mastercard", "amex", "diners", "discover", "jcb16"]
CARD_GROUPS = {13: [4, 4, 5], 14: [4, 6, 4], 15: [4, 6, 5], 16: [4, 4, 4, 4], 19: [4, 4, 4, 4, 3]}


def card(rng: random.Random, fake: Faker) -> str:
    number = ""
    # Faker's JCB numbers start with any 35xx; JCB's range is 3528-3589.
    while not number or (number.startswith("35") and not 3528 <= int(number[:4]) <= 3589):
        number = fake.credit_card_number(rng.choice(CARD_TYPES))
    separator = rng.choice([" ", " ", "-", "-", ""])
    parts, at = [], 0
    for size in CARD_GROUPS[len(number)]:
        parts.append(number[at : at + size])
        at += size
    return separator.join(parts)


MAIL_DOMAINS = [
    "gmail.com", "web.de", "gmx.at", "orange.fr", "libero.it", "telefonica.es", "wp.pl",
    "ziggo.nl", "sapo.pt", "telia.se", "yahoo.co.jp", "uol.com.br", "btinternet.com",
    "mail.uni-heidelberg.de", "students.cs.ox.ac.uk", "eng.acme-corp.co.uk", "mx.kunde.example.de",
    "post.ethz.ch", "outlook.com", "proton.me",
]  # fmt: skip


def email(rng: random.Random, fake: Faker) -> str:
    local = fake.user_name()
    roll = rng.random()
    if roll < 0.3:
        local += f"+{rng.choice(['news', 'shop', 'work', 'x1', 'lists.python'])}"
    elif roll < 0.4:
        local = local.upper()
    elif roll < 0.5:
        local = f"{fake.first_name().lower()}.{fake.last_name().lower()}"
    return f"{local}@{rng.choice(MAIL_DOMAINS)}".replace(" ", "")


def ip(rng: random.Random) -> str:
    roll = rng.random()
    if roll < 0.45:
        first = rng.choice([10, 172, 192, 8, 1, rng.randint(11, 223)])
        return ".".join(str(p) for p in [first, *(rng.randint(0, 255) for _ in range(3))])
    if roll < 0.55:
        return f"::ffff:192.0.2.{rng.randint(1, 254)}"
    groups = [0x2001, 0x0DB8] + [rng.choice([0, 0, 0, rng.randint(1, 0xFFFF)]) for _ in range(6)]
    if rng.random() < 0.3:
        groups[0:2] = [0xFE80, 0]
    value = ipaddress.IPv6Address(sum(g << (16 * (7 - i)) for i, g in enumerate(groups)))
    text = value.exploded if rng.random() < 0.15 else value.compressed
    return text.upper() if rng.random() < 0.2 else text


def url(rng: random.Random, fake: Faker) -> str:
    name = fake.user_name().replace(".", "_")
    person = f"{fake.first_name()}-{fake.last_name()}".lower().replace(" ", "-")
    number = str(rng.randint(10_000, 999_999_999))
    scheme = rng.choice(["https://", "https://", "http://", "https://www.", ""])
    shapes: list[Callable[[], str]] = [
        lambda: f"{scheme}facebook.com/profile.php?id=1000{digits(rng, 11)}",
        lambda: f"{scheme}stackoverflow.com/users/{number}/{name}",
        lambda: f"{scheme}forum.example-community.org/users/{number}",
        lambda: f"{scheme}vk.com/id{number}",
        lambda: f"{scheme}steamcommunity.com/profiles/7656119{digits(rng, 10)}",
        lambda: f"{scheme}reddit.com/u/{name}",
        lambda: f"{scheme}reddit.com/user/{name}/",
        lambda: f"{scheme}mastodon.social/@{name}",
        lambda: f"{scheme}chaos.social/@{name}",
        lambda: f"{scheme}medium.com/@{name}",
        lambda: f"{scheme}tiktok.com/@{name}",
        lambda: f"{scheme}youtube.com/@{name}",
        lambda: f"{scheme}tilde.club/~{name}",
        lambda: f"{scheme}cs.uni-example.de/~{name}/",
        lambda: f"{scheme}linkedin.com/in/{person}-{digits(rng, 3)}",
        lambda: f"{scheme}instagram.com/{name}/",
        lambda: f"{scheme}x.com/{name}",
        lambda: f"{scheme}twitter.com/{name}/status/{digits(rng, 18)}",
        lambda: f"{scheme}bsky.app/profile/{name}.bsky.social",
        lambda: f"{scheme}t.me/{name}",
        lambda: f"{scheme}github.com/{name}",
        lambda: f"{scheme}about.me/{name}",
        lambda: f"{scheme}linktr.ee/{name}",
        lambda: f"https://{name.replace('_', '-')}.github.io/",
        lambda: f"https://{name.replace('_', '')}.substack.com",
        lambda: f"https://{name.replace('_', '')}.wordpress.com/about/",
        lambda: f"{scheme}example-shop.com/members/{number}",
        lambda: f"{scheme}community.example.net/profile/{name}",
        lambda: f"{scheme}flickr.com/people/{name}/",
    ]
    return rng.choice(shapes)()


def isbn13(rng: random.Random) -> str:
    body = "978" + digits(rng, 9)
    check = (10 - sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(body)) % 10) % 10
    return rng.choice([f"{body[:3]}-{body[3]}-{body[4:6]}-{body[6:12]}-{check}", body + str(check)])


def look_alike(rng: random.Random) -> str:
    """A value that looks like personal data and is not, with the words it comes with."""
    r = rng
    d = digits
    kinds: list[Callable[[], str]] = [
        lambda: f"v{r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}",
        lambda: f"version {r.randint(1, 9)}.{r.randint(0, 20)}.{r.randint(0, 9)}.{r.randint(1, 9)}",
        lambda: f"update {r.randint(1, 4)}.{r.randint(0, 20)}.{r.randint(0, 9)}.{r.randint(0, 9)}",
        lambda: f"Chrome {r.randint(100, 130)}.0.{r.randint(5000, 6999)}.{r.randint(10, 200)}",
        lambda: f"iOS {r.randint(14, 18)}.{r.randint(0, 6)}.{r.randint(1, 3)}",
        lambda: f"${r.randint(1, 9)},{d(r, 3)}.99",
        lambda: f"{r.randint(1, 9)}.{d(r, 3)},00 €",
        lambda: f"R$ {r.randint(1, 9)}.{d(r, 3)},{d(r, 2)}",
        lambda: f"¥{r.randint(1, 99)},{d(r, 3)}",
        lambda: f"£{r.randint(1, 999)}.{d(r, 2)}",
        lambda: f"order #{r.randint(100_000, 99_999_999)}",
        lambda: f"order {r.randint(100, 999)}-{d(r, 7)}-{d(r, 7)}",
        lambda: f"Bestellung ORD-{r.randint(2019, 2026)}-{d(r, 6)}",
        lambda: f"tracking 1Z{d(r, 3)}AA1{d(r, 8)}",
        lambda: f"Sendung 00340434{d(r, 12)}",
        lambda: f"tracking 9400 1{d(r, 3)} {d(r, 4)} {d(r, 4)} {d(r, 4)} {d(r, 2)}",
        lambda: f"parcel RR{d(r, 9)}DE",
        lambda: f"ISBN {isbn13(r)}",
        lambda: "ISBN 0-306-40615-2",
        lambda: f"{r.randint(2019, 2026)}-{r.randint(1, 12):02d}-{r.randint(1, 28):02d}",
        lambda: f"{r.randint(1, 28):02d}.{r.randint(1, 12):02d}.{r.randint(2019, 2026)}",
        lambda: f"{r.randint(1, 12):02d}/{r.randint(1, 28):02d}/{r.randint(2019, 2026)}",
        lambda: f"{r.randint(1, 28):02d}-{r.randint(1, 12):02d}-{r.randint(2019, 2026)}",
        lambda: f"{r.randint(2019, 2026)}年{r.randint(1, 12)}月{r.randint(1, 28)}日",
        lambda: f"{r.uniform(-80, 80):.4f}, {r.uniform(-170, 170):.4f}",
        lambda: f"{r.uniform(0, 80):.4f}° N, {r.uniform(0, 170):.4f}° E",
        lambda: "".join(r.choice("0123456789abcdef") for _ in range(r.choice([7, 12, 40, 64]))),
        lambda: f"{r.randint(1_600_000_000, 1_800_000_000)}",
        lambda: f"{r.randint(1_600_000_000_000, 1_800_000_000_000)}",
        lambda: (
            f"{r.randint(2019, 2026)}-0{r.randint(1, 9)}-1{r.randint(0, 9)}T1{r.randint(0, 9)}:"
            f"{r.randint(10, 59)}:{r.randint(10, 59)}Z"
        ),
        lambda: f"{r.randint(0, 23):02d}:{r.randint(0, 59):02d}:{r.randint(0, 59):02d}",
        lambda: "https://en.wikipedia.org/wiki/Luhn_algorithm",
        lambda: f"https://www.bbc.co.uk/news/technology-{d(r, 8)}",
        lambda: f"https://github.com/apache/arrow/issues/{r.randint(100, 45_000)}",
        lambda: f"https://stackoverflow.com/questions/{d(r, 8)}/how-to-split-a-string",
        lambda: "https://www.youtube.com/watch?v=dQw4w9WgXcQ",
        lambda: f"https://shop.example.com/products/{d(r, 6)}",
        lambda: "https://docs.python.org/3/library/re.html",
        lambda: f"room {r.randint(100, 999)}",
        lambda: f"{r.randint(2, 40)}-{r.randint(41, 90)} min",
        lambda: f"score {r.randint(0, 5)}-{r.randint(0, 5)}",
        lambda: f"MAC 00:1A:{r.randint(10, 99)}:3C:4D:5E",
        lambda: "std::vector<int>",
    ]
    return r.choice(kinds)()


def _wrap(rng: random.Random, value: str, lang: str) -> tuple[str, int]:
    wrapper = rng.choice(WRAPPERS if lang == "ja" else WRAPPERS[:-1])
    before, _, after = wrapper.partition("{}")
    return before + value + after, len(before)


def post(rng: random.Random, fake: dict[str, Faker]) -> dict[str, object]:
    """One to three sentences; each holds a labelled value, a look-alike or nothing."""
    lang = rng.choice(LANGUAGES)
    parts, spans, at = [], [], 0
    for _ in range(rng.randint(1, 3)):
        roll = rng.random()
        before, value, after, kind = "", "", "", ""
        if roll < 0.55:
            kind = rng.choice(KIND_WEIGHTS)
            if kind == "ADDRESS":
                before, value, after, lang = address(rng, fake)
            elif kind == "PHONE":
                value, lang = phone(rng)
            elif kind == "URL":
                value = url(rng, fake["en_US"])
            elif kind == "EMAIL":
                value = email(rng, fake[rng.choice(["en_US", "de_DE", "fr_FR"])])
            elif kind == "IP":
                value = ip(rng)
            else:
                value = card(rng, fake["en_US"])
        elif roll < 0.85:
            value = look_alike(rng)
        if value:
            wrapped, offset = _wrap(rng, before + value + after, lang)
            template = rng.choice(TEMPLATES[lang])
            head = template.partition("{}")[0]
            sentence = template.replace("{}", wrapped)
            if kind:
                start = at + len(head) + offset + len(before)
                spans.append([start, start + len(value), kind])
        else:
            sentence = rng.choice(FILLERS[lang])
        parts.append(sentence)
        at += len(sentence) + 1
    return {"lang": lang, "text": " ".join(parts), "spans": spans}


def main(n: int = 4000) -> None:
    rng, fake = random.Random(SEED), fakers()
    posts = [{"id": i, **post(rng, fake)} for i in range(n)]
    for record in posts:
        for start, end, _ in record["spans"]:  # type: ignore[attr-defined]
            assert record["text"][start:end].strip() == record["text"][start:end]  # type: ignore[index]
    partial = OUT.with_suffix(".jsonl.partial")
    with partial.open("w", encoding="utf-8") as out:
        for record in posts:
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    os.replace(partial, OUT)
    counts = Counter(s[2] for p in posts for s in p["spans"])  # type: ignore[attr-defined]
    print(f"wrote {OUT}: {len(posts)} posts, labels {dict(sorted(counts.items()))}")


if __name__ == "__main__":
    main()
