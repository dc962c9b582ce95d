"""What kind of message started a cycle, so priming can size its budget (seed 004, message types).

English and Japanese are both first-class. Nothing here is substring matching: a greeting is a
whole utterance made only of greeting phrases and names (so "this is it" is not "hi"), English is
read word by word from the first word of each clause, and Japanese from how a clause *ends*
(its auxiliaries and sentence-final particles), which is where Japanese marks mood.
"""

from __future__ import annotations

import re
import unicodedata
from enum import StrEnum


class MessageType(StrEnum):
    """Kinds of trigger text, each with its own priming budget (``PrimingConfig.budget_*``)."""

    GREETING = "greeting"
    QUESTION = "question"
    REQUEST = "request"
    HEARTBEAT = "heartbeat"


def _alternation(phrases: str, *, words: bool) -> str:
    # Longest first so "thank you so much" is preferred to "thank you"; words may be spaced freely.
    items = sorted({p.strip() for p in phrases.split("|") if p.strip()}, key=len, reverse=True)
    if words:
        return "|".join(r"\s+".join(re.escape(w) for w in item.split()) for item in items)
    return "|".join(re.escape(item) for item in items)


_EN_GREETINGS = _alternation(
    "hi|hey|hello|hiya|heya|howdy|yo|greetings|good morning|good afternoon|good evening|good night|"
    "good day|morning|evening|gm|gn|night|thanks|thank you|thankyou|thanks a lot|thanks so much|"
    "thank you so much|thank you very much|thanks again|thank you again|many thanks|thx|ty|tysm|cheers|"
    "much appreciated|appreciate it|bye|goodbye|bye bye|see you|see you later|see you tomorrow|"
    "see you soon|see ya|later|take care|have a good day|have a good night|have a good weekend|"
    "have a good one|have a nice day|welcome|welcome back|nice to meet you|pleased to meet you|"
    "good to see you|long time no see|how are you|how are you doing|how's it going|how is it going|"
    "how have you been|what's up|whats up|sup|ok|okay|k|got it|noted|understood|sounds good|great|"
    "awesome|perfect|nice|cool|no problem|no worries|np|you're welcome|that helps|that works|will do|"
    "sure|all good|good job|great job|well done|congrats|congratulations|happy new year",
    words=True,
)
_EN_ADDRESS = _alternation("all|everyone|everybody|team|guys|folks|there|y'all|you all|friends", words=True)
_JA_GREETINGS = _alternation(
    "おはよう|おはよ|おはようございます|こんにちは|こんにちわ|こんばんは|こんばんわ|おやすみ|おやすみなさい|"
    "お疲れ様です|お疲れ様でした|お疲れさまです|お疲れさまでした|おつかれさまです|おつかれさまでした|"
    "お疲れ様|お疲れさま|おつかれさま|お疲れ|おつかれ|お疲れさん|ご苦労様です|ご苦労さまです|"
    "ありがとう|ありがとうございます|ありがとうございました|サンキュー|感謝します|助かります|助かりました|"
    "よろしく|よろしくお願いします|よろしくお願いいたします|よろしくお願い致します|宜しくお願いします|"
    "はじめまして|初めまして|ただいま|おかえり|おかえりなさい|お帰りなさい|いってきます|行ってきます|"
    "いってらっしゃい|行ってらっしゃい|お先に失礼します|失礼します|失礼しました|お世話になっております|"
    "お世話になります|お世話になりました|さようなら|またね|また明日|じゃあね|ではまた|了解|了解です|"
    "了解しました|承知しました|承知いたしました|かしこまりました|わかりました|分かりました|"
    "おめでとう|おめでとうございます",
    words=False,
)
_JA_PREFIX = "(?:いつも|本当に|ほんとうに|ほんとに|大変|どうも)?"
_JA_ADDRESS = _alternation("みなさん|皆さん|皆様|みなさま|みんな|各位", words=False)
_HONORIFIC_EN = r"(?:[- ]?(?:san|sama|kun|chan|sensei|senpai))?"
_HONORIFIC_JA = "(?:さん|様|さま|くん|君|ちゃん|先輩|先生|部長|課長|社長|殿|氏)"
# A name is capitalised Latin (with an optional "-san"… after it or "Mr"… before it), any
# Latin word with a hyphenated honorific, or kanji/katakana/Latin followed by a Japanese honorific.
# Hiragana is left out of Japanese names on purpose: it is what particles and greetings are made of.
_NAME = (
    rf"(?:(?:(?i:mr|mrs|ms|dr)\s+)?[A-Z][A-Za-z'-]*{_HONORIFIC_EN}(?![A-Za-z])"
    rf"|[A-Za-z]+-(?i:san|sama|kun|chan|sensei|senpai)(?![A-Za-z])"
    rf"|[\u4e00-\u9fff\u30a0-\u30ffA-Za-z]{{1,8}}{_HONORIFIC_JA}"
    rf"|(?i:{_EN_ADDRESS})\b|{_JA_ADDRESS})"
)
_PHRASE = rf"(?:(?i:{_EN_GREETINGS})\b|{_JA_PREFIX}(?:{_JA_GREETINGS})[ねぇー]*)"
_GREETING = re.compile(rf"\s*(?:{_NAME}\s*)*{_PHRASE}(?:\s*(?:{_PHRASE}|{_NAME}))*\s*")
_VOCATIVE = re.compile(rf"\s*(?:{_NAME}\s*)+")
_EN_LEADING_SOCIAL = re.compile(rf"(?:(?i:{_EN_GREETINGS}|{_EN_ADDRESS})\b\s*)+")
_GREETING_MAX_CHARS = 60
_GREETING_MAX_WORDS = 10
SHORT_CHARS = 120
"""A message up to this long that ends in "?" and says nothing else is taken as a question."""


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


_EN_INTERROGATIVES = _words(
    "what why how when where who whom whose which what's why's how's when's where's who's whats"
)
_EN_AUXILIARIES = _words(
    "is are am was were does did should shall may might must has had isn't aren't wasn't weren't "
    "doesn't didn't shouldn't hasn't haven't hadn't can't won't wouldn't couldn't"
)
_EN_MODALS = _words("can could would will")
_EN_SUBJECTS = _words("you u ya i we they he she it this that these those there")
# Verbs that ask for information rather than work: "could you explain X?" is a question.
_EN_INFO_VERBS = _words("tell explain describe clarify remember recall think know imagine see like be")
_EN_IMPERATIVES = _words(
    "add analyse analyze approve archive ask assign book build call cancel change check clean close "
    "collect commit compile confirm contact copy create delete deploy document download draft edit email "
    "ensure escalate find fix follow forward gather generate go handle install investigate keep look "
    "make merge message move notify open organise organize ping plan post prepare print publish pull "
    "push read record reply remind remove rename reopen report restart review revert rewrite rollback "
    "run save schedule send set share start stop submit summarise summarize tell test translate try "
    "update upload use verify write do don't dont never"
)
# After one of these, a leading "verb" is a noun subject: "Update is live", "Test failed?".
_EN_NOUN_FOLLOWERS = _words(
    "is are was were has have had will would can could should looks seems failed passed works worked "
    "broke broken"
)
_EN_LEADING_FILLERS = _words(
    "hi hey hello yo ok okay so and also then oh well btw ps um uh alright anyway now"
)
_EN_POLITE_FILLERS = {"please", "pls", "plz", "kindly", "just", "also", "quickly", "maybe", "possibly"}
_EN_KNOWN = _EN_INTERROGATIVES | _EN_AUXILIARIES | _EN_MODALS | _EN_IMPERATIVES | _EN_LEADING_FILLERS
_EN_REQUEST_OPENERS = re.compile(
    r"(?:(?:i|we) (?:need|want|would like)|(?:i'd|we'd) like) you to |(?:i|we) need "
    r"|let's |lets |let us |make sure |be sure "
)

_JA_REQUEST_END = re.compile(
    "(?:ください|下さい|くださいませ|ちょうだい|頂戴"
    "|[てで](?:くれ|くれる|くれない|くれます|くれません|もらえる|もらえない|もらえます|もらえません"
    "|いただける|いただけない|いただけます|いただけません|頂けます|頂けません|ほしい|欲しい|ほしいです"
    "|欲しいです|もらいたい|もらいたいです|いただきたい|いただきたいです|頂きたいです|おいて)か?"
    "|(?:お願い|おねがい)(?:します|いたします|致します|できますか|できますでしょうか|できる|できない"
    "|できません|です)?か?"
    "|頼む|頼みます|頼んだ|たのむ|なさい|しろ|せよ|ましょう|しよう|やろう|といて|どいて)$"
)
# A clause ending in the te-form is a casual request ("送って", "確認してね")... unless the て/で
# belongs to a particle, a conjunction or "why".
_JA_TE_FORM = re.compile("(?:て|[んい]で)$")
_JA_NOT_TE = re.compile(
    "(?:について|として|にとって|によって|に関して|に対して|において|に沿って|に従って|を通して|どうして"
    "|そして|なんて|だって|なんで|せいで)$"
)
_JA_INFO_REQUEST = re.compile("(?:教え|おしえ|説明し)(?:て|てください|て下さい|てほしい|てもらえ)")
_JA_QUESTION_END = re.compile("(?:か|っけ|かしら)$")
# Interrogatives, except where a following も/でも/か/ぞ… makes them indefinite ("いつも", "何か",
# "どうぞ"). Hiragana ones must start a word (follow a particle, "これ/それ", or a non-hiragana
# character) so that "ぶどう" or "めんどう" do not read as "どう".
_JA_INTERROGATIVE = re.compile(
    "(?:何|誰|何故|(?:(?<![\u3040-\u309f])|(?<=[はがをにでとものれて]))"
    "(?:なに|なん|なぜ|どうして|どう|いつ|どこ|だれ|どれ|どの|どちら|どっち|いくら|いくつ))"
    "(?!も|でも|か|ぞ|て|とか|となく|だか)"
)
_JA_FINAL_PARTICLES = re.compile("[ねよなわぁー〜w笑]{1,3}$")
_JAPANESE = re.compile("[\u3040-\u30ff\u4e00-\u9fff]")
_SENTENCES = re.compile(r"(?<=[!?。])|(?<=\.)\s+|\n+")
_CLAUSES = re.compile(r"[,、;:]|\s-\s")


def classify(text: str, *, trigger: str) -> MessageType:
    """Classify the text that started a cycle.

    Args:
        text: The message (or task text) the anima is about to answer.
        trigger: The cycle's trigger. Only exactly ``"heartbeat"`` is a heartbeat; ``"cron"``,
            ``"cron:<task>"`` and the rest are classified from their text (seed 004).

    Returns:
        ``HEARTBEAT`` for heartbeats; otherwise ``GREETING`` for a short message made only of
        greetings, thanks, acknowledgements ("ok", "了解です": routine, nothing to recall) and
        names; ``REQUEST`` when any sentence asks for work (a polite
        "could you send…?" included); ``QUESTION`` when a sentence asks for information; and by
        default ``QUESTION`` for a short message ending in "?", else ``REQUEST``.
    """
    if trigger == "heartbeat":
        return MessageType.HEARTBEAT
    norm = _normalise(text)
    if _is_greeting(norm):
        return MessageType.GREETING
    kinds = {_clause_kind(clause) for sentence in _SENTENCES.split(norm) for clause in _clauses(sentence)}
    if MessageType.REQUEST in kinds:
        return MessageType.REQUEST
    if MessageType.QUESTION in kinds:
        return MessageType.QUESTION
    if norm.endswith("?") and len(norm) <= SHORT_CHARS:
        return MessageType.QUESTION
    return MessageType.REQUEST


def _normalise(text: str) -> str:
    # NFKC folds full-width "？！" and Latin into ASCII and half-width katakana into full width.
    text = unicodedata.normalize("NFKC", text).replace("\u2019", "'").replace("\u2018", "'")
    text = re.sub(r"<@[^>]*>|@[\w.-]+", " ", text)  # mentions address someone; they carry no mood
    return text.strip()


def _letters(text: str) -> str:
    """Keep letters, digits, marks, apostrophes and hyphens; everything else becomes a space."""
    kept = [
        ch
        if ch in "'-" or (unicodedata.category(ch)[0] in "LNM" and not 0xFE00 <= ord(ch) <= 0xFE0F)
        else " "
        for ch in text
    ]
    cleaned = re.sub(r"(?<![\w])['-]+|['-]+(?![\w])", " ", "".join(kept))
    return " ".join(cleaned.split())


def _is_greeting(norm: str) -> bool:
    cleaned = _letters(norm)
    if not cleaned or len(cleaned) > _GREETING_MAX_CHARS or len(cleaned.split()) > _GREETING_MAX_WORDS:
        return False
    return _GREETING.fullmatch(cleaned) is not None


def _clauses(sentence: str) -> list[str]:
    """A sentence's clauses, without leading ones that only greet or address someone."""
    clauses = [c for c in (_letters(part) for part in _CLAUSES.split(sentence)) if c]
    while clauses and _is_social(clauses[0]):
        clauses.pop(0)
    return clauses


def _is_social(clause: str) -> bool:
    """A greeting, or only names ("Tanaka-san", "Bob") — but "Why" or "Deploy" are not names."""
    if len(clause) > _GREETING_MAX_CHARS:
        return False  # also bounds the regexes' backtracking on long input
    if _GREETING.fullmatch(clause):
        return True
    return _VOCATIVE.fullmatch(clause) is not None and not _EN_KNOWN & set(clause.casefold().split())


def _clause_kind(clause: str) -> MessageType | None:
    if _JAPANESE.search(clause):
        return _japanese_kind(clause.replace(" ", ""))
    return _english_kind(clause)


def _english_kind(clause: str) -> MessageType | None:
    rest = clause
    if social := _EN_LEADING_SOCIAL.match(clause):  # "hi can you…", "thanks Bob, …"
        rest = clause[social.end() :]
        tokens = rest.split()
        if tokens and tokens[0][0].isupper() and tokens[0].casefold() not in _EN_KNOWN:
            rest = " ".join(tokens[1:])  # the name after the greeting
    words = rest.casefold().split()
    while words and words[0] in _EN_LEADING_FILLERS:
        words = words[1:]
    if not words:
        return None
    if {"please", "pls", "plz"} & set(words):
        return MessageType.REQUEST
    if _EN_REQUEST_OPENERS.match(" ".join(words[:5]) + " "):
        return MessageType.REQUEST
    first, second = words[0], words[1] if len(words) > 1 else ""
    if first in _EN_MODALS and second in {"you", "u", "ya", "we"}:
        after = [w for w in words[2:] if w not in _EN_POLITE_FILLERS]
        verb = after[0] if after else ""
        # "could you send the report?" asks for work; "can you explain X?" asks for information.
        if not verb or verb in _EN_INFO_VERBS:
            return MessageType.QUESTION
        return MessageType.REQUEST
    if first in {"do", "don't", "have"} and second in _EN_SUBJECTS:
        return MessageType.QUESTION  # auxiliary: "do you know…", "don't you think…"
    if first in _EN_INTERROGATIVES or first in _EN_AUXILIARIES or first in _EN_MODALS:
        return MessageType.QUESTION
    if first in _EN_IMPERATIVES and second not in _EN_NOUN_FOLLOWERS:
        if first == "tell" and second == "me":
            return MessageType.QUESTION  # "tell me about X" is asking, not assigning
        return MessageType.REQUEST
    return None


def _japanese_kind(clause: str) -> MessageType | None:
    core = _JA_FINAL_PARTICLES.sub("", clause) or clause
    if _JA_REQUEST_END.search(core) or (_JA_TE_FORM.search(core) and not _JA_NOT_TE.search(core)):
        # "教えてください" / "説明して" ask for information, like English "tell me".
        return MessageType.QUESTION if _JA_INFO_REQUEST.search(core) else MessageType.REQUEST
    if _JA_QUESTION_END.search(core) or _JA_INTERROGATIVE.search(core):
        return MessageType.QUESTION
    return None
