"""Word pools for the synthetic platform: where people live, what they are called, what they say.

Plain data, so the generator can turn every choice into an index into a flat Arrow array.
"""

from __future__ import annotations

# jurisdiction -> (share of accounts, primary language, naming region)
JURISDICTIONS: dict[str, tuple[float, str, str]] = {
    # European Union
    "DE": (0.070, "de", "de"),
    "FR": (0.060, "fr", "fr"),
    "IT": (0.040, "it", "it"),
    "ES": (0.040, "es", "es"),
    "NL": (0.025, "nl", "nl"),
    "PL": (0.025, "pl", "pl"),
    "IE": (0.015, "en", "en"),
    "SE": (0.015, "sv", "sv"),
    "AT": (0.010, "de", "de"),
    "BE": (0.010, "fr", "fr"),
    "PT": (0.010, "pt", "pt"),
    # United Kingdom
    "GB": (0.090, "en", "en"),
    # United States, by state
    "US-CA": (0.070, "en", "en"),
    "US-NY": (0.050, "en", "en"),
    "US-TX": (0.050, "en", "en"),
    "US-FL": (0.040, "en", "en"),
    "US-IL": (0.025, "en", "en"),
    "US-WA": (0.020, "en", "en"),
    "US-VA": (0.020, "en", "en"),
    "US-CO": (0.015, "en", "en"),
    "US-MA": (0.015, "en", "en"),
    # elsewhere
    "CA": (0.030, "en", "en"),
    "BR": (0.050, "pt", "pt"),
    "JP": (0.040, "ja", "ja"),
    "IN": (0.050, "en", "in"),
    "AU": (0.025, "en", "en"),
    "MX": (0.020, "es", "es"),
    "CH": (0.010, "de", "de"),
}

LANGUAGES = ("en", "de", "fr", "es", "it", "nl", "pl", "pt", "sv", "ja")

# language -> everyday sentences people post
SENTENCES: dict[str, list[str]] = {
    "en": [
        "Just finished my morning run, feeling great.",
        "Can't believe how good the new season is.",
        "Anyone else stuck in traffic on the bridge right now?",
        "Coffee first, everything else later.",
        "Hot take: pineapple on pizza is fine.",
        "The sunset tonight was unreal.",
        "Finally fixed that bug that haunted me all week.",
        "Reading a great book about the history of maps.",
        "Our team won the match last night!",
        "Trying a new recipe for dinner, wish me luck.",
        "Does anyone have a good recommendation for a plumber?",
        "Rainy Sunday, perfect for staying in.",
        "Concert tickets are so expensive these days.",
        "New blog post is up, feedback welcome.",
        "My cat just knocked my plant off the table again.",
        "Thinking about switching careers, any advice?",
    ],
    "de": [
        "Endlich Wochenende, ab in die Berge.",
        "Der Zug hat mal wieder zwanzig Minuten Verspätung.",
        "Heute gibt es Käsespätzle, ganz klassisch.",
        "Was für ein Spiel gestern Abend!",
        "Kann jemand einen guten Zahnarzt empfehlen?",
        "Kaffee ist die Antwort, egal was die Frage ist.",
        "Neuer Blogbeitrag ist online, Feedback willkommen.",
        "Der Herbst in der Stadt ist einfach schön.",
        "Ich habe heute meinen ersten Marathon geschafft.",
        "Warum ist Bahnfahren so kompliziert?",
    ],
    "fr": [
        "Enfin le week-end, on part à la mer.",
        "Le métro est encore en grève aujourd'hui.",
        "Ce soir c'est raclette entre amis.",
        "Quel match hier soir, incroyable !",
        "Quelqu'un connaît un bon garagiste ?",
        "Premier café de la journée, indispensable.",
        "Nouvel article sur mon blog, vos avis sont les bienvenus.",
        "Les couleurs de l'automne sont magnifiques.",
        "J'ai enfin terminé ce roman, quelle fin !",
        "Qui vient au concert samedi ?",
    ],
    "es": [
        "Por fin es viernes, a disfrutar.",
        "Qué partidazo anoche, increíble.",
        "Hoy toca paella con la familia.",
        "¿Alguien sabe de un buen fontanero?",
        "El café de la mañana es sagrado.",
        "Nueva entrada en el blog, comentarios bienvenidos.",
        "Qué calor hace hoy en la ciudad.",
        "Terminé el libro, me ha encantado.",
        "Mañana empiezo el gimnasio, esta vez sí.",
        "Las vistas desde la montaña son espectaculares.",
    ],
    "it": [
        "Finalmente weekend, si va al mare.",
        "Che partita ieri sera, pazzesco!",
        "Oggi pasta al forno per tutti.",
        "Qualcuno conosce un buon meccanico?",
        "Il caffè del mattino è sacro.",
        "Nuovo articolo sul blog, commenti benvenuti.",
        "Il treno è di nuovo in ritardo.",
        "Tramonto stupendo stasera.",
    ],
    "nl": [
        "Eindelijk weekend, lekker fietsen.",
        "Wat een wedstrijd gisteravond!",
        "Vanavond stamppot, echt winterweer.",
        "Weet iemand een goede loodgieter?",
        "Koffie eerst, de rest komt later.",
        "Nieuwe blogpost staat online.",
        "De trein heeft weer vertraging.",
        "Prachtige zonsondergang vanavond.",
    ],
    "pl": [
        "Nareszcie weekend, jedziemy w góry.",
        "Co za mecz wczoraj wieczorem!",
        "Dziś na obiad pierogi.",
        "Czy ktoś poleci dobrego hydraulika?",
        "Poranna kawa to podstawa.",
        "Nowy wpis na blogu, zapraszam.",
        "Pociąg znowu spóźniony.",
        "Piękny zachód słońca dzisiaj.",
    ],
    "pt": [
        "Finalmente sexta-feira, bora pra praia.",
        "Que jogo ontem à noite!",
        "Hoje tem feijoada em casa.",
        "Alguém conhece um bom eletricista?",
        "Café da manhã é sagrado.",
        "Post novo no blog, comentem.",
        "Trânsito terrível hoje na cidade.",
        "Que pôr do sol lindo hoje.",
    ],
    "sv": [
        "Äntligen helg, ut i skogen.",
        "Vilken match igår kväll!",
        "Fika är det bästa som finns.",
        "Någon som kan tipsa om en bra rörmokare?",
        "Nytt blogginlägg ute nu.",
        "Tåget är försenat igen.",
    ],
    "ja": [
        "やっと週末、のんびりします。",
        "昨日の試合、最高でした!",
        "今日のランチはラーメン。",
        "誰かいい歯医者さん知りませんか?",
        "朝のコーヒーは欠かせない。",
        "ブログを更新しました。",
        "電車がまた遅れている。",
        "今日の夕焼けがきれいだった。",
    ],
}

HASHTAGS = (
    "#photography #running #coffee #football #books #travel #foodie #music #tech #gaming "
    "#weekend #art #nature #coding #movies #fitness"
).split()

EMOJI = ["🙂", "😂", "🔥", "❤️", "🎉", "☕", "⚽", "📚", "🌅", "🙌"]

# PII kind (demo.pii.PII_KINDS) -> language -> lead-ins; the value follows after a space.
# English is the fallback.
PII_LEADS: dict[str, dict[str, list[str]]] = {
    "EMAIL": {
        "en": ["Email me at", "DM or write to", "Send the files to"],
        "de": ["Schreibt mir an", "Meine Mail:"],
        "fr": ["Écrivez-moi à", "Mon mail :"],
        "es": ["Escríbeme a", "Mi correo:"],
    },
    "PHONE": {
        "en": ["Call me on", "Text me at", "My number is"],
        "de": ["Ruft mich an unter", "Meine Nummer:"],
        "fr": ["Appelez-moi au", "Mon numéro :"],
        "es": ["Llámame al", "Mi número:"],
    },
    "IP": {"en": ["My server is at", "Blocked this IP:", "Weird traffic from", "Connect via"]},
    "CARD": {
        "en": ["Oops, wrong window, my card is", "Card number for the booking:"],
        "de": ["Kartennummer für die Buchung:"],
    },
    "ADDRESS": {
        "en": ["Party at my place,", "Send the parcel to", "We moved to"],
        "de": ["Feier bei mir,", "Neue Adresse:"],
        "fr": ["Nouvelle adresse :"],
        "es": ["Nueva dirección:"],
    },
    "URL": {"en": ["My portfolio:", "Check my profile", "All my photos are on"]},
}

NEGATIVE_LEADS: dict[str, list[str]] = {
    "en": ["Ref:", "FYI:", "see", "re"],
    "de": ["Info:", "Betreff:"],
    "fr": ["Info :", "Réf. :"],
    "es": ["Ref.:", "Ojo:"],
}
