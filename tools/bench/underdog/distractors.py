"""Distractors: hundreds of made-up facts on the same topics as the questions, none of them an answer.

Each template writes one sentence of the same shape as some question's fact (another server's
name, another room's door code, another person's birthday), so the memory is full of near misses,
as an anima's memory would be after months of office work. Generation is deterministic for a seed.
"""

from __future__ import annotations

import dataclasses
import random
from collections.abc import Callable, Sequence

from .facts import Fact, is_correct

BIRDS = ("SWIFT", "WREN", "FALCON", "OSPREY", "PIPIT", "ROBIN", "EGRET", "CRANE", "SHRIKE", "LARK")
COLOURS = ("RED", "GREEN", "ORANGE", "PINK", "WHITE", "BLACK", "TEAL", "OLIVE", "CORAL", "IVORY")
ANIMALS = ("FERRET", "BEAVER", "WALRUS", "LYNX", "PANDA", "STOAT", "HARE", "MOOSE", "BISON", "GECKO")
FLOWERS = ("LILAC", "ASTER", "PEONY", "TULIP", "DAHLIA", "IRIS", "ORCHID", "POPPY", "CLOVER", "SAGE")
TREES = ("Kaede", "Sakura", "Hinoki", "Sugi", "Matsu", "Keyaki", "Ume", "Kiri", "Momiji", "Tochi")
CITIES = ("Sendai", "Nagoya", "Kobe", "Fukuoka", "Sapporo", "Kyoto", "Hiroshima", "Niigata", "Kanazawa")
FIRST = ("Yuki", "Kenta", "Aiko", "Sora", "Haruto", "Mio", "Ren", "Emi", "Takumi", "Nana", "Jonas", "Priya")
LAST = ("Sato", "Ito", "Suzuki", "Nakamura", "Kobayashi", "Yamada", "Inoue", "Kimura", "Hayashi", "Shimizu")
COMPANIES = ("Ishikari Dairy", "Minato Textiles", "Aozora Beverages", "Kurogane Steel", "Hikari Pharmacy",
             "Tsubame Printing", "Shiokaze Seafood", "Midori Garden Supply")  # fmt: skip
MONTHS = ("January", "February", "April", "May", "June", "July", "September", "October", "December")
SERVICES = ("metrics exporter", "search cluster", "session store", "queue broker", "image cache",
            "label printer service", "backup agent", "time server")  # fmt: skip
ROOMS = ("storage room", "archive room", "loading dock", "canteen", "training room", "mail room", "cold room")
TEAMS = ("sales", "support", "warehouse", "legal", "design", "IT", "purchasing", "HR")
GOODS = ("fragile", "bulky", "hazardous", "dry", "returned", "seasonal", "bonded")
VEHICLES = ("pickup truck", "cargo bike", "box van", "flatbed", "minivan", "tow tractor")
EVENTS = ("elevator inspection", "inventory count", "team lunch", "security audit", "tax filing",
          "window cleaning", "server patch night", "client visit from Aozora")  # fmt: skip
THINGS = ("billing rewrite", "label printing tool", "driver app", "returns portal", "stock dashboard")
COURSES = ("first aid course", "truck licence renewal", "hazmat training", "crane operator exam")


@dataclasses.dataclass(frozen=True)
class Distractor:
    """One made-up fact: its topic, a heading to file it under and the sentence."""

    topic: str
    heading: str
    text: str


def _n(rng: random.Random, low: int, high: int) -> int:
    return rng.randint(low, high)


def _server(r: random.Random) -> tuple[str, str]:
    what = r.choice(("build", "test", "file", "log", "proxy", "DNS", "print", "monitoring"))
    return f"{what.capitalize()} server", f"The {what} server is called {r.choice(BIRDS)}-{_n(r, 1, 9)}."


def _port(r: random.Random) -> tuple[str, str]:
    service = r.choice(SERVICES)
    return service.capitalize(), f"The {service} listens on port {_n(r, 1025, 9999)}."


def _host(r: random.Random) -> tuple[str, str]:
    service = r.choice(SERVICES)
    host = f"{r.choice(('app', 'db', 'mq', 'ci', 'ops'))}{_n(r, 1, 9)}.kazemori.example"
    return service.capitalize(), f"The {service} runs at {host}."


def _wifi(r: random.Random) -> tuple[str, str]:
    place = r.choice(("lobby", "canteen", "Sendai office", "training room", "workshop", "dock"))
    return f"{place.capitalize()} wifi", f"The {place} wifi password is {r.choice(COLOURS)}-{_n(r, 10, 99)}."


def _printer(r: random.Random) -> tuple[str, str]:
    room = r.choice((*ROOMS, "first floor", "third floor", "fifth floor"))
    return "Printers", f"The printer in the {room} is named {r.choice(ANIMALS)}."


def _meeting(r: random.Random) -> tuple[str, str]:
    what = r.choice(("The sales syncs", "The budget reviews", "The safety briefings", "The 1:1s"))
    return "Meeting rooms", f"{what} are held in meeting room {r.choice(TREES)}."


def _folder(r: random.Random) -> tuple[str, str]:
    what = r.choice(("Delivery notes", "Payslips", "Safety sheets", "Price lists", "Scanned receipts"))
    name = f"{r.choice(TEAMS).upper()}-{r.choice(('DOCS', 'STORE', 'SHELF', 'BOX'))}"
    return "Shared folders", f"{what} are stored in the shared folder {name}."


def _door(r: random.Random) -> tuple[str, str]:
    room = r.choice(ROOMS)
    return f"{room.capitalize()} door", f"The door code of the {room} is {_n(r, 1000, 9999)}."


def _extension(r: random.Random) -> tuple[str, str]:
    desk = r.choice(("The help desk", "The night guard", "The dispatch office", "The HR desk"))
    return "Phone extensions", f"{desk} answers on phone extension {_n(r, 1000, 9999)}."


def _birthday(r: random.Random) -> tuple[str, str]:
    who = f"{r.choice(FIRST)} {r.choice(LAST)}"
    return who, f"{who}'s birthday is on {_n(r, 1, 28)} {r.choice(MONTHS)}."


def _move(r: random.Random) -> tuple[str, str]:
    who = r.choice(LAST)
    return f"{who}-san", f"{who}-san's team moved to {r.choice(CITIES)} on {_n(r, 1, 28)} {r.choice(MONTHS)}."


def _course(r: random.Random) -> tuple[str, str]:
    who = f"{r.choice(FIRST)} {r.choice(LAST)}"
    return "Training", f"{who} passed the {r.choice(COURSES)} in {r.choice(MONTHS)}."


def _contact(r: random.Random) -> tuple[str, str]:
    company = r.choice(COMPANIES)
    title = r.choice(("Mr.", "Ms."))
    return company, f"Our contact at {company} is {title} {r.choice(FIRST)} {r.choice(LAST)}."


def _bay(r: random.Random) -> tuple[str, str]:
    city = r.choice(CITIES)
    return (
        f"{city} warehouse",
        f"In the {city} warehouse, {r.choice(GOODS)} goods are kept in Bay {_n(r, 10, 30)}.",
    )


def _pallet(r: random.Random) -> tuple[str, str]:
    city = r.choice(CITIES)
    return f"{city} line", f"The maximum pallet weight on the {city} line is {_n(r, 40, 99) * 10} kg."


def _fleet(r: random.Random) -> tuple[str, str]:
    vehicle = r.choice(VEHICLES)
    return "Fleet", f"The {vehicle} has the fleet number TRK-{_n(r, 1000, 9999)}."


def _budget(r: random.Random) -> tuple[str, str]:
    team = r.choice(TEAMS)
    return "Budgets", f"The {team} team's quarterly budget is {_n(r, 11, 99) / 10:.1f} million yen."


def _invoice(r: random.Random) -> tuple[str, str]:
    company = r.choice(COMPANIES)
    return "Invoices", f"Invoice INV-{_n(r, 10000, 99999)} from {company} was paid in {r.choice(MONTHS)}."


def _ticket(r: random.Random) -> tuple[str, str]:
    problem = r.choice(("a late delivery", "a wrong label", "a login problem", "a damaged pallet"))
    return "Tickets", f"Ticket TCK-{_n(r, 10000, 99999)} was about {problem} at {r.choice(COMPANIES)}."


def _codename(r: random.Random) -> tuple[str, str]:
    thing = r.choice(THINGS)
    return "Codenames", f"The {thing} has the codename {r.choice(FLOWERS)}."


def _event(r: random.Random) -> tuple[str, str]:
    event = r.choice(EVENTS)
    return "Calendar", f"The {event} is scheduled for {_n(r, 1, 28)} {r.choice(MONTHS)}."


TEMPLATES: dict[str, tuple[Callable[[random.Random], tuple[str, str]], ...]] = {
    "infrastructure": (_server, _port, _host),
    "office": (_wifi, _printer, _meeting, _folder),
    "security": (_door, _extension),
    "people": (_birthday, _move, _course),
    "clients": (_contact,),
    "logistics": (_bay, _pallet, _fleet),
    "finance": (_budget, _invoice),
    "projects": (_codename, _ticket),
    "calendar": (_event,),
}


def distractors(facts: Sequence[Fact], count: int, seed: int = 8) -> list[Distractor]:
    """``count`` distinct made-up facts over every topic; none holds an answer of ``facts``."""
    rng = random.Random(seed)
    answers = tuple(answer for fact in facts for answer in fact.answers)
    topics = sorted(TEMPLATES)
    seen: set[str] = set()
    made: list[Distractor] = []
    while len(made) < count:
        topic = topics[len(made) % len(topics)]
        heading, text = rng.choice(TEMPLATES[topic])(rng)
        if text in seen or is_correct(text, answers):
            continue  # a near miss, never the answer itself
        seen.add(text)
        made.append(Distractor(topic, heading, text))
    return made
