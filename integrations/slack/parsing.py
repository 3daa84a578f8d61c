"""The /returns command line: subcommands, their arguments and their usage (pure, no Slack, no database)."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hub.workflow import Stage, Workflow

# (subcommand, arguments, what it does): the help text and every usage error are made from this table
SUBCOMMANDS: tuple[tuple[str, str, str], ...] = (
    ("", "RMA-1042 | ORD-50012", "show a return (by RMA or order number)"),
    ("mine", "", "the open returns assigned to you"),
    ("queue", "[team]", "a team's open returns (default: yours)"),
    ("overdue", "[team]", "a team's overdue returns (default: yours)"),
    ("move", "RMA <stage> [resolution | reason [note]]", "move to a stage, by key or the start of its name"),
    ("assign", "RMA @person | me | nobody", "give a return to someone on the owning team"),
    ("note", "RMA <text>", "add a comment (mention people with @)"),
    ("flag", "RMA <reason>", "mark a return as blocked"),
    ("unflag", "RMA", "clear the blocked flag"),
    ("new", "", "create a return in a form"),
    ("help", "", "this list"),
)
NAMES = frozenset(name for name, _, _ in SUBCOMMANDS if name)
_RMA_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,59}$")
_SLACK_USER_RE = re.compile(r"^<@([UW][A-Z0-9]+)(?:\|[^>]*)?>$")
_SLACK_MENTION_RE = re.compile(r"<@([UW][A-Z0-9]+)(?:\|([^>]*))?>")
_SLACK_MAILTO_RE = re.compile(r"<mailto:([^|>]+)(?:\|[^>]*)?>")
_SLACK_LINK_RE = re.compile(r"<((?:https?|ftp)://[^|>]+)(?:\|([^>]*))?>")
_SLACK_SPECIAL_RE = re.compile(r"<[!#][^>]*\|([^>]*)>|<[!#]([^>|]*)>")


class UsageError(Exception):
    """The command line cannot be understood; `message` says why, with the usage."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


@dataclass(frozen=True)
class Command:
    """One parsed /returns command line."""

    name: str  # help, show, mine, queue, overdue, move, assign, note, flag, unflag, new
    rma: str = ""  # the RMA, or for `show` what was typed (an RMA or an order number)
    stage: str = ""  # move: the target stage's key
    text: str = ""  # move: resolution and/or reason; note: the comment; flag: the reason; queue/overdue: team
    assignee: str = ""  # assign: "me", "nobody", a Slack user id (U…), an @handle or an e-mail address
    resolution: str = ""  # move into a stage that needs one: refund, exchange, store_credit
    rejection_reason: str = ""  # move into a stage that tells the customer why: a configured reason's key

    @property
    def changes_a_return(self) -> bool:
        """Whether the command changes a return (and so must be applied once only)."""
        return self.name in ("move", "assign", "note", "flag", "unflag")


def usage_line(command: str, name: str) -> str:
    """The usage of one subcommand, in mrkdwn."""
    for sub, args, what in SUBCOMMANDS:
        if sub == name:
            words = " ".join(w for w in (command, sub, args) if w)
            return f"`{words}` — {what}"
    raise KeyError(name)


def help_text(command: str) -> str:
    """Every subcommand with its arguments."""
    lines = [f"*{command}*: Returns Hub in Slack. Replies are only visible to you."]
    lines += [f"• {usage_line(command, name)}" for name, _, _ in SUBCOMMANDS]
    return "\n".join(lines)


def _error(command: str, message: str, name: str | None) -> UsageError:
    hint = usage_line(command, name) if name is not None else f"`{command} help` lists every subcommand."
    return UsageError(f"{message}\nUsage: {hint}")


def parse(text: str, workflow: Workflow, command: str = "/returns") -> Command:
    """Parse the text after the slash command; UsageError names what is wrong and shows the usage."""
    words = (text or "").split()
    if not words or words[0].lower() == "help":
        return Command("help")
    name, rest = words[0].lower(), words[1:]
    if name not in NAMES:
        return _show(words, command)
    if name in ("mine", "new"):
        return _without_arguments(name, rest, command)
    if name in ("queue", "overdue"):
        return Command(name, text=" ".join(rest))
    rma, args = _rma(name, rest, command), rest[1:]
    if name == "unflag":
        return _unflag(rma, args, command)
    if name == "move":
        return _move(rma, args, workflow, command)
    if name == "assign":
        return _assign(rma, args, command)
    return _text_command(name, rma, args, text, command)  # note and flag


def _show(words: list[str], command: str) -> Command:
    """Not a subcommand: a lone RMA or order number shows that return."""
    if len(words) == 1 and _RMA_RE.match(words[0]):
        return Command("show", rma=words[0])
    raise _error(command, f"Unknown subcommand “{words[0]}”.", None)


def _without_arguments(name: str, rest: list[str], command: str) -> Command:
    """`mine` and `new`."""
    if rest:
        raise _error(command, f"`{name}` takes no arguments.", name)
    return Command(name)


def _rma(name: str, rest: list[str], command: str) -> str:
    """The RMA a subcommand that changes a return starts with."""
    if not rest:
        raise _error(command, f"`{name}` needs an RMA.", name)
    rma = rest[0]
    if not _RMA_RE.match(rma):
        raise _error(command, f"“{rma}” is not an RMA.", name)
    return rma


def _unflag(rma: str, args: list[str], command: str) -> Command:
    """`unflag RMA`."""
    if args:
        raise _error(command, "`unflag` takes only the RMA.", "unflag")
    return Command("unflag", rma=rma)


def _assign(rma: str, args: list[str], command: str) -> Command:
    """`assign RMA @person | me | nobody`."""
    if len(args) != 1:
        raise _error(command, "Name one person: @person, me or nobody.", "assign")
    return Command("assign", rma=rma, assignee=_assignee(args[0], command))


def _move(rma: str, args: list[str], workflow: Workflow, command: str) -> Command:
    """`move RMA <stage> [resolution | reason]`."""
    if not args:
        raise _error(command, f"Which stage should {rma} move to? Stages: {_stage_list(workflow)}.", "move")
    stage, remainder = _find_stage(args, workflow, command)
    resolution = rejection = ""
    if stage.requires_resolution:
        resolution, remainder = _resolution(remainder, workflow.policy.allowed_resolutions)
    if stage.requires_rejection_reason:
        rejection, remainder = _rejection_reason(rma, stage, remainder, workflow, command)
    text = " ".join(remainder)
    return Command("move", rma=rma, stage=stage.key, text=text, resolution=resolution, rejection_reason=rejection)


def _text_command(name: str, rma: str, args: list[str], text: str, command: str) -> Command:
    """`note` and `flag`: the rest of the line is the text."""
    if not args:
        what = "the comment" if name == "note" else "why it is blocked"
        raise _error(command, f"Say {what}.", name)
    line = (text or "").strip()
    body = line.split(None, 2)[2]  # keep the text's own spacing and line breaks
    return Command(name, rma=rma, text=body)


def _stage_list(workflow: Workflow) -> str:
    return ", ".join(f"`{key}`" for key in workflow.stages)


def _find_stage(args: list[str], workflow: Workflow, command: str) -> tuple[Stage, list[str]]:
    """The stage named by the longest run of leading words, and the words after it."""
    first_error = ""
    for n in range(len(args), 0, -1):
        try:
            return workflow.find_stage(" ".join(args[:n])), args[n:]
        except KeyError as exc:
            if n == 1:
                first_error = str(exc.args[0])
    raise _error(command, f"{first_error[:1].upper()}{first_error[1:]}.", "move")


def _resolution(words: list[str], allowed: tuple[str, ...]) -> tuple[str, list[str]]:
    """A leading resolution ("refund", "store credit", "store_credit"), and the words after it."""
    for n in (2, 1):
        candidate = "_".join(words[:n]).lower().replace("-", "_")
        if len(words) >= n and candidate in allowed:
            return candidate, words[n:]
    return "", words


def _rejection_reason(
    rma: str, stage: Stage, words: list[str], workflow: Workflow, command: str
) -> tuple[str, list[str]]:
    """The reason key a move into a rejecting stage starts with, and the words after it (the note)."""
    reasons = workflow.rejection_reasons
    first = words[0].lower().strip(".,:;") if words else ""
    if first in reasons:
        return first, words[1:]
    listed = "\n".join(f"• `{key}` — {reason.label}" for key, reason in reasons.items())
    said = f"“{words[0]}” is not a rejection reason." if words else f"Moving {rma} to “{stage.name}” needs a reason."
    example = f"`{command} move {rma} {stage.key} {next(iter(reasons), 'reason')} [note for the customer]`"
    raise UsageError(
        f"{said} Start with one of these; the customer reads its text in their language, and a note after it "
        f"word for word:\n{listed}\nFor example: {example}"
    )


def _assignee(word: str, command: str) -> str:
    lowered = word.lower()
    if lowered in ("me", "nobody", "none", "-"):
        return "nobody" if lowered in ("nobody", "none", "-") else "me"
    mention = _SLACK_USER_RE.match(word)
    if mention:
        return mention.group(1)
    mailto = _SLACK_MAILTO_RE.fullmatch(word)
    if mailto:
        return mailto.group(1).lower()
    if word.startswith("@") and len(word) > 1:
        return word.lower()
    if "@" in word:
        return lowered
    raise _error(command, f"“{word}” is not a person: use @person, me or nobody.", "assign")


def slack_user_ids(text: str) -> list[str]:
    """The Slack users a text mentions (<@U123> or <@U123|name>), in order."""
    return list(dict.fromkeys(m.group(1) for m in _SLACK_MENTION_RE.finditer(text)))


def plain_text(text: str, handles: dict[str, str] | None = None) -> str:
    """Slack's escaped text as a person typed it: mentions become @handles (the hub's, when known), links bare."""
    handles = handles or {}

    def mention(m: re.Match[str]) -> str:
        handle = handles.get(m.group(1)) or m.group(2) or m.group(1)
        return f"@{handle}"

    text = _SLACK_MENTION_RE.sub(mention, text)
    text = _SLACK_MAILTO_RE.sub(lambda m: m.group(1), text)
    text = _SLACK_LINK_RE.sub(lambda m: m.group(1), text)
    text = _SLACK_SPECIAL_RE.sub(lambda m: m.group(1) or m.group(2), text)
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")
