"""The offline engine's message ideas: tones, goal kinds (recognised by keywords in the goal) and three angles
per kind, each written long (e-mail, WhatsApp) and short (SMS). Deterministic: the same goal, tone and channel
always give the same three messages, and every one parses and fits its channel (a test checks them all)."""
from __future__ import annotations

import re
from dataclasses import dataclass

NAME = "<name>"  # replaced by the first name with the tone's fallback word


@dataclass(frozen=True)
class Tone:
    """A tone of voice: its label, a hint for the model, and the offline engine's greeting, nudge and sign-off."""

    key: str
    label: str
    hint: str
    greeting: str
    nudge: str
    closing: str
    short_nudge: str
    fallback: str  # the word used when a customer has no first name
    subject_prefix: str = ""


TONES: dict[str, Tone] = {t.key: t for t in (
    Tone("friendly", "Friendly", "relaxed and kind, like a shop owner who knows the customer",
         "Hi", "We would love to see you again soon.", "See you soon,\nThe team", "See you soon!", "there"),
    Tone("professional", "Professional", "clear, polite and to the point, no slang or exclamation marks",
         "Dear", "Should you have any questions, simply reply to this message.", "Kind regards,\nThe team",
         "Reply for details.", "customer"),
    Tone("playful", "Playful", "light-hearted and fun, a little wordplay, never silly",
         "Hey", "Go on, treat yourself - you know you want to.", "High fives,\nThe team", "Go on, treat yourself!",
         "friend", "Psst, "),
    Tone("urgent", "Urgent", "short sentences with a clear reason to act now, without false promises",
         "Hi", "Do not wait too long: this will not be around for ever.", "Act now,\nThe team",
         "Do not wait too long!", "there", "Don't miss out: "),
    Tone("warm", "Warm", "heartfelt and personal, thankful, never pushy",
         "Dear", "It truly means a lot to us that you are part of our story.", "With warm wishes,\nThe team",
         "With warm wishes.", "friend"),
)}


@dataclass(frozen=True)
class Angle:
    """One way of making the point: a name, an e-mail subject, the long text and the short (SMS) text."""

    name: str
    subject: str
    text: str
    short: str


@dataclass(frozen=True)
class GoalKind:
    """A kind of campaign goal: the words that recognise it and its three angles."""

    key: str
    label: str
    keywords: tuple[str, ...]
    angles: tuple[Angle, Angle, Angle]


# checked in this order: the first kind with a keyword in the goal wins; "generic" has none
GOAL_KINDS: dict[str, GoalKind] = {g.key: g for g in (
    GoalKind("win_back", "Win back lapsed customers",
             ("win back", "winback", "lapsed", "inactive", "dormant", "come back", "miss you", "churn", "re-engage",
              "reengage", "haven't ordered", "have not ordered", "lost"),
             (Angle("We miss you", "We miss you, " + NAME,
                    'Your last order with us was {{ last_order_date | date("%-d %B %Y") | default("a while ago") }}, '
                    "and a lot has happened since. Come and have a look at what is new.",
                    "We miss you. Come and see what is new since your last visit."),
              Angle("A reason to return", "Something to welcome you back",
                    "To welcome you back, your next order comes with a little extra from us. Pick up where you "
                    "left off whenever it suits you.",
                    "Your next order comes with a little extra from us."),
              Angle("What you have missed", "Here is what you have missed",
                    "Our newest favourites are in, and we think you will like them. It only takes a minute to "
                    "catch up.", "Our newest favourites are in. Take a minute to catch up."))),
    GoalKind("welcome", "Welcome new customers",
             ("welcome", "new customer", "new customers", "first order", "first purchase", "signed up", "sign up",
              "signup", "onboard", "newcomer", "just joined"),
             (Angle("Warm welcome", "Welcome aboard, " + NAME,
                    "Thank you for joining us. We are glad you are here, and we are ready to help whenever you "
                    "need us.", "Welcome aboard! We are glad you are here."),
              Angle("Getting started", "Getting started with us",
                    "Here is a tip to get started: our most loved products are a great first pick, and delivery "
                    "is quick and simple.", "Tip: our most loved products are a great first pick."),
              Angle("First-order treat", "A treat for your first order",
                    "As a welcome gift, your first order comes with a small treat from us.",
                    "Your first order comes with a small treat from us."))),
    GoalKind("launch", "Announce a new product",
             ("launch", "new product", "new products", "new collection", "new range", "new arrival", "new arrivals",
              "introduc", "announce", "just arrived", "release"),
             (Angle("Be the first", "Be the first to see it",
                    "Something new has just arrived, and you are among the first to hear about it.",
                    "Something new has just arrived. Be the first to see it."),
              Angle("Made for you", "New, and made with you in mind",
                    "We built our newest product around what customers like you asked for. We cannot wait to "
                    "hear what you think.", "Our newest product was made with you in mind."),
              Angle("Early access", "Your early access is open",
                    "Before everyone else: your early access to our new collection is open now.",
                    "Your early access to our new collection is open now."))),
    GoalKind("thanks", "Thank loyal customers",
             ("thank", "loyal", "loyalty", "vip", "best customer", "best customers", "reward", "appreciat",
              "anniversary", "top customers"),
             (Angle("Simple thanks", "Thank you, " + NAME,
                    "Thank you for shopping with us. Customers like you are the reason we do what we do.",
                    "Thank you for shopping with us. You make our day."),
              Angle("A reward", "A little reward for you",
                    "To say thanks for your loyalty, we have set aside a little reward for your next order.",
                    "A little reward is waiting for your next order."),
              Angle("Insider perks", "Your insider perks",
                    "As one of our most valued customers, you get our news and offers before anyone else.",
                    "You get our news and offers before anyone else."))),
    GoalKind("sale", "Promote a sale or offer",
             ("sale", "discount", "offer", "% off", "percent off", "promo", "coupon", "deal", "black friday",
              "clearance", "voucher", "bargain"),
             (Angle("The offer", "Our sale is on",
                    "Our sale is on now, with savings across the shop. Find your favourites before they are "
                    "gone.", "Our sale is on now. Find your favourites before they are gone."),
              Angle("Picked for you", "Deals picked for you, " + NAME,
                    "We have picked a few deals we think you will love, all at sale prices for a short time.",
                    "Deals picked for you, at sale prices for a short time."),
              Angle("Last chance", "Last days of the sale",
                    "The sale ends soon. If something caught your eye, now is the moment.",
                    "The sale ends soon. Now is the moment."))),
    GoalKind("generic", "Keep in touch", (),
             (Angle("News", "News from us",
                    "Here is a quick update from us: new products, helpful tips and a few favourites.",
                    "A quick update from us: new products and a few favourites."),
              Angle("Personal note", "A note for you, " + NAME,
                    "We wanted to say hello and check in. If there is anything we can help with, we are here.",
                    "Just saying hello. We are here if you need anything."),
              Angle("Reason to visit", "Come and have a look",
                    "There is always something new in store. Come and have a look when you have a moment.",
                    "There is always something new. Come and have a look."))),
)}


def goal_kind(goal: str) -> GoalKind:
    """The kind of goal a sentence is, from its keywords (the first kind that matches; otherwise generic)."""
    text = " " + re.sub(r"\s+", " ", goal.lower().replace("\u2019", "'")) + " "
    for kind in GOAL_KINDS.values():
        if any(re.search(r"(?<![a-z])" + re.escape(word), text) for word in kind.keywords):
            return kind
    return GOAL_KINDS["generic"]


def name_tag(tone: Tone) -> str:
    """The first-name tag with this tone's fallback word, e.g. {{ first_name | default("there") }}."""
    return '{{ first_name | default("' + tone.fallback + '") }}'


def offline_message(angle: Angle, tone: Tone, long: bool) -> tuple[str | None, str]:
    """One offline message: (subject, body); long for e-mail and WhatsApp, short for SMS (no subject)."""
    if long:
        subject = angle.subject
        if tone.subject_prefix:
            subject = tone.subject_prefix + subject[0].lower() + subject[1:]
        body = f"{tone.greeting} {NAME},\n\n{angle.text}\n\n{tone.nudge}\n\n{tone.closing}"
        return subject.replace(NAME, name_tag(tone)), body.replace(NAME, name_tag(tone))
    short = angle.short[0].lower() + angle.short[1:]
    return None, f"{tone.greeting} {NAME}, {short} {tone.short_nudge}".replace(NAME, name_tag(tone))
