"""The redactor's patterns (RE2 syntax), one per kind of personal data, in priority order.

Every pattern is matched right after one character of ``BOUNDARY`` (see ``redact.py``), so no
pattern needs a look-behind. Street types and suffixes are the words the countries' own
conventions use (USPS Publication 28 for the US, the street types of each language), not a list
of test values.
"""

from __future__ import annotations

HANDLE = r"[A-Za-z0-9_](?:[A-Za-z0-9_.-]*[A-Za-z0-9_])?"
# URL characters; none of them may start a match (see BOUNDARY), and a URL ends on a non-dot.
_URL_TAIL = r"(?:[/?#](?:[\w.~%/?#=&+@!$*-]*[\w~%/#=&+@$*-])?)?"
OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_V4 = rf"{OCTET}(?:\.{OCTET}){{3}}"
_HEX = r"[0-9A-Fa-f]{1,4}"
# Latin letters (ASCII, Latin-1, Extended-A/B): RE2's DFA for \p{L} is three times slower.
_UPPER = r"[A-Z\x{C0}-\x{D6}\x{D8}-\x{DE}\x{100}-\x{17F}]"
LETTERS = r"A-Za-z\x{C0}-\x{D6}\x{D8}-\x{F6}\x{F8}-\x{24F}"
_WORD = rf"{_UPPER}[{LETTERS}'’.-]*"
_CJK = r"[\x{3040}-\x{30FF}\x{4E00}-\x{9FFF}]"

# USPS Publication 28 street suffixes (and the UK's), with their usual abbreviations.
_EN_SUFFIX = (
    "Alley|Avenue|Ave|Bend|Boulevard|Blvd|Branch|Bridge|Brooks?|Burgs?|Bypass|Camp|Canyon|Cape|"
    "Causeway|Centers?|Circles?|Cir|Cliffs?|Close|Club|Commons?|Corners?|Course|Courts?|Ct|Coves?|"
    "Creek|Crescent|Crest|Crossing|Crossroad|Curve|Dale|Dam|Divide|Drives?|Dr|Estates?|"
    "Expressway|Extensions?|Falls?|Ferry|Fields?|Flats?|Fords?|Forest|Forges?|Forks?|Fort|"
    "Freeway|Gardens?|Gateway|Glens?|Greens?|Groves?|Harbors?|Haven|Heights|Highway|Hwy|Hills?|"
    "Hollow|Inlet|Islands?|Isle|Junctions?|Keys?|Knolls?|Lakes?|Land|Landing|Lane|Ln|Lights?|"
    "Loaf|Locks?|Lodge|Loop|Mall|Manors?|Meadows?|Mews|Mills?|Mission|Motorway|Mount|"
    "Mountains?|Neck|Orchard|Oval|Overpass|Parks?|Parkways?|Pkwy|Pass|Passage|Path|Pike|Pines?|"
    "Place|Pl|Plains?|Plaza|Points?|Ports?|Prairie|Radial|Ramp|Ranch|Rapids?|Rest|Ridges?|River|"
    "Roads?|Rd|Route|Row|Rue|Run|Shoals?|Shores?|Skyway|Springs?|Spurs?|Squares?|Sq|Station|"
    "Stravenue|Stream|Streets?|St|Summit|Terrace|Ter|Throughway|Trace|Track|Trafficway|Trail|"
    "Trl|Tunnel|Turnpike|Underpass|Unions?|Valleys?|Via|Viaduct|Views?|Villages?|Ville|Vista|"
    "Walks?|Wall|Ways?|Wells?|Wynd"
)
_UNIT = r"(?:,? (?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|#) ?\d{1,5}[A-Za-z]?)?"
# Street names written as one word with the type at the end (German, Dutch, Nordic, Finnish).
_FUSED_SUFFIX = (
    "straße|strasse|str\\.|weg|allee|platz|gasse|ring|damm|ufer|chaussee|steig|pfad|markt|hof|"
    "straat|laan|gracht|plein|kade|singel|dijk|baan|dreef|steeg|boulevard|park|"
    "gatan|vägen|gränd|stigen|torget|backen|leden|gade|vej|stræde|plads|torv|"
    "tie|katu|kuja|polku|tori|kaari|rinne|väylä|raitti|piha|bulevardi|pad"
)
_SEPARATE_SUFFIX = (
    "Straße|Strasse|Str\\.|Weg|Allee|Platz|Gasse|Ring|Damm|Allé|Vej|Gade|Laan|"
    "katu|tie|kuja|polku|bulevardi"
)
# Street types written before the name (Romance languages, Polish, French after the number).
_TYPE_FIRST = (
    "Calle|C/|C\\.|Avenida|Avda\\.|Av\\.?|Paseo|Plaza|Camino|Carrera|Callejón|Cuesta|Ronda|"
    "Urbanización|Travesía|Pasaje|Pasadizo|Glorieta|Rambla|Vía|Carretera|Acceso|Bajada|Cañada|"
    "Via|Viale|Piazza|Piazzale|Corso|Largo|Vicolo|Contrada|Strada|Borgo|Rotonda|Lungomare|"
    "Stretto|Canale|Incrocio|"
    "Rua|R\\.|Travessa|Praça|Praceta|Alameda|Estrada|Rodovia|Beco|Ladeira|Quadra|Calçada|"
    "Quinta|Bairro|Praia|Viela|Vila|Jardim|Parque|Setor|Residencial|Condomínio|Conjunto|Loteamento|"
    "ul\\.|ulica|al\\.|aleja|pl\\.|plac|os\\.|osiedle|rondo"
)
_FR_TYPE = (
    "rue|avenue|av\\.|boulevard|bd|place|chemin|allée|allé|impasse|quai|cours|route|square|"
    "passage|sentier|montée|rang|côte|promenade|voie"
)
_LINK = r"(?:de la |de l'|del |des |du |de |da |do |dos |das |di |della |delle |degli |dei |d')?"
_NAME = rf"{_UPPER}[{LETTERS}'’-]*"
# A flat, floor or unit after a street name; tried before another word of the name.
_UNIT_WORD = (
    r"(?:Apt\.?|Apartment|Suite|Ste\.?|Unit|Flat|Puerta|Piso|Apto\.?|Bloco|Casa|Piano|"
    r"Appartamento|Interno|Scala|lok\.|m\.) ?\d{1,5}[A-Za-z]?"
)

RULES = {
    "EMAIL": r"[A-Za-z0-9._%+\x{C0}-\x{24F}-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b",
    "URL": (
        r"(?i:(?:https?://)?(?:(?:www|m|mobile)\.)?(?:"
        rf"(?:x|twitter|instagram|facebook|fb|threads|github|about|t|linktr|vk)"
        rf"\.(?:com|net|me|ee)/@?{HANDLE}"
        r"|docs\.google\.com/(?:document|spreadsheets|presentation|forms)/d/(?:e/)?[\w-]+"
        r"|drive\.google\.com/(?:file/d/|open\?id=|drive/folders/)[\w-]+"
        r"|dropbox\.com/(?:s|sh|scl/fi)/[\w-]+"
        r"|1drv\.ms/[a-z]/[\w!-]+"
        rf"|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{{2,}}/(?:[@~]|(?:users?|u|in|profiles?|people|"
        rf"members?|channel|c)/){HANDLE}"
        r"|[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}/profile\.php\?id=\d+"
        r"|[a-z0-9-]+\.(?:github\.io|substack\.com|wordpress\.com|blogspot\.com|tumblr\.com|"
        r"bsky\.social|carrd\.co|neocities\.org)"
        rf"){_URL_TAIL})"
    ),
    "IP": (
        rf"(?i:::ffff:(?:0:)?){_V4}\b"
        rf"|{_V4}\b"
        rf"|{_HEX}(?::{_HEX}){{7}}\b"
        rf"|{_HEX}(?::{_HEX}){{0,6}}::(?:{_HEX}(?::{_HEX}){{0,6}}\b)?"
        rf"|::{_HEX}(?::{_HEX}){{0,6}}\b"
    ),
    "CARD": (
        r"\d{4}(?:[ -]\d{4}){3}(?:[ -]\d{3})?\b|\d{4}[ -]\d{6}[ -]\d{4,5}\b"
        r"|\d{4}[ -]\d{4}[ -]\d{5}\b|\d{13,19}\b"
    ),
    "PHONE": (
        r"\+\d{8,15}\b"
        r"|\+\d{1,3}(?:[ .-]?\(0\))?(?:[ .-]?\(\d{1,4}\)|[ .-]?\d{1,5})(?:[ .-]?\d{1,8}){1,6}\b"
        r"|\(0?\d{1,4}(?: \d)?\) ?\d{2,5}(?:[ -]\d{2,5}){0,3}\b"
        r"|0\d{1,5}(?:[ -]\d{2,10}){1,4}\b|0\d{2,5}/\d{4,10}\b|0[1-9](?:\.\d{2}){4}\b"
        r"|[1-9]\d{2}[ .-]\d{3}[ .-]\d{4}\b|[1-9]\d{2} \d{4} \d{4}\b|[1-9]\d{2} \d{3} \d{3}\b"
        r"|[1-9]\d{2}(?: \d{2}){3}\b|[1-9]\d(?: \d{2}){3}\b|[1-9]\d \d{3} \d{2} \d{2}\b"
        r"|[1-9]\d \d{3,4} \d{4}\b|[689]\d{3} \d{4}\b"
    ),
    "ADDRESS": (
        rf"(?:(?:Flat|Studio|Unit|Apartment) \d{{1,4}}[A-Za-z]?,? (?:\d{{1,5}}[A-Za-z]? )?"
        rf"|\d{{1,5}}[A-Za-z]?,? )(?:{_WORD} ){{1,3}}(?:{_EN_SUFFIX})\b"
        rf"(?: (?:NW|NE|SW|SE|N|S|E|W)\b)?{_UNIT}"
        rf"|{_UPPER}[{LETTERS}-]*(?i:{_FUSED_SUFFIX}) \d{{1,5}}(?: ?[a-zA-Z]\b)?"
        r"(?:[/-]\d{1,4}[a-z]?)?"
        rf"|{_UPPER}[{LETTERS}-]+(?: {_UPPER}[{LETTERS}-]+)? (?:{_SEPARATE_SUFFIX}) "
        r"\d{1,5}[a-z]?(?:[/-]\d{1,4})?"
        rf"|\d{{1,5}}(?: ?(?:bis|ter))?,? (?i:{_FR_TYPE}) {_LINK}{_NAME}"
        rf"(?:,? (?:{_UNIT_WORD}|{_LINK}{_NAME})){{0,3}}"
        rf"|(?:{_TYPE_FIRST}) {_LINK}{_NAME}(?: (?:y |e |i )?{_LINK}{_NAME}){{0,4}},? "
        rf"\d{{1,5}}[a-zA-Z]?(?:[/-]\d{{1,4}})?(?:,? {_UNIT_WORD})?"
        r"|\d{1,2}丁目\d{1,3}番地?(?:\d{1,3}号)?"
    ),
}

# Rules that also match after a CJK character and nothing else: a Japanese block number.
CJK_LED = {"ADDRESS": rf"{_CJK}\d{{1,2}}-\d{{1,3}}(?:-\d{{1,3}})?\b"}

# Look-alikes matched before every rule and always left as they are: the match protects them.
KEEP = (
    r"(?i:version|update|updated to|upgrade to|release|build|firmware|kernel|ver\.?|"
    r"chrome|firefox|android|ios|macos|windows) ?v?\d+(?:\.\d+){1,4}\b"
)

# The character before a match: not part of a word, number, address or URL, nor a marker.
BOUNDARY = r"[^A-Za-z0-9_.~%/?#=&+@!$*\x00-\x07\x{C0}-\x{24F}-]"

CARD_ISSUERS = (
    r"^(?:4\d{12}(?:\d{3}){0,2}|5[1-5]\d{14}|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d|720)\d{12}"
    r"|3[47]\d{13}|6(?:011|5\d\d)\d{12}(?:\d{3})?|3(?:0[0-5]|[68]\d)\d{11}"
    r"|35(?:2[89]|[3-8]\d)\d{12})$"
)
# Phone-shaped dates (01-02-2024) and Brazilian postcodes (01362-818); links to a repository
# (an owner and a name) on a code host.
NOT_PHONE = r"^\d{1,2}[-./]\d{1,2}[-./]\d{2,4}$|^\d{5}-\d{3}$"
NOT_URL = r"(?i)^(?:https?://)?(?:www\.)?github\.com/[^/?#]+/[^/?#]"

# Cheaper patterns that match wherever a rule does (a street type or suffix where the rule needs
# it, or the Japanese markers), tried first so that the rule's own, slower DFA runs only on the
# rows they pick.
PREFILTERS = {
    "ADDRESS": (
        rf" (?:{_EN_SUFFIX})\b|(?i:{_FUSED_SUFFIX}) \d|(?:{_SEPARATE_SUFFIX}) \d"
        rf"|(?i: (?:{_FR_TYPE}) )|(?:{_TYPE_FIRST}) |丁目|{_CJK}\d"
    ),
}
