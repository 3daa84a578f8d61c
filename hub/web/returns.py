"""A return's detail (panel or page) and every change made from it; the new-return form."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date

from babel import Locale
from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select
from sqlalchemy.orm import selectinload
from werkzeug.wrappers import Response

from hub.accounts.models import User
from hub.core.config import CUSTOMER_LANGUAGES, customer_language
from hub.core.db import check_then_write
from hub.core.errors import DomainError, NotFound, ValidationFailed, VersionConflict
from hub.returns import services as svc
from hub.returns.drafts import MAX_ITEM_LENGTH, MAX_LENGTH, MAX_QUANTITY, ItemDraft, ReturnDraft, validate_draft
from hub.returns.models import Priority, Resolution, Return
from hub.returns.permissions import deny_create, may_act_on, may_create, stages_reachable
from hub.returns.queries import load_for_detail
from hub.returns.timeline import worded_conflict
from hub.web.context import actor, db, now, whole_number, workflow, writing
from hub.web.fragments import render_card_response
from hub.web.htmx import htmx
from hub.web.template_helpers import display_zone

bp = Blueprint("returns", __name__, url_prefix="/returns")
MAX_ITEM_ROWS = 20


def _version() -> int | None:
    return whole_number(request.form.get("version"), "version")


def _from_board() -> bool:
    return request.form.get("view") == "card" or request.args.get("view") == "card"


def policy_facts(r: Return, today: date) -> dict[str, object]:
    """Delivered on, return window end and days left."""
    window = workflow().policy.return_window_days
    if r.delivered_on is None:
        return {"delivered_on": None, "window": window}
    ends = date.fromordinal(r.delivered_on.toordinal() + window)
    requested = workflow().today(r.created_at)
    return {
        "delivered_on": r.delivered_on,
        "window": window,
        "window_ends": ends,
        "days_left": (ends - today).days,
        "requested_in_window": requested <= ends,
    }


def detail_context(r: Return, move_to: str | None = None) -> dict[str, object]:
    """Everything the detail panel shows and offers to this user.

    `move_to` is the stage the Move form starts on (a card dropped on a column that needs more, or the
    stage of a move that was just refused); the first stage offered when it is not one of them."""
    wf, a, session = workflow(), actor(), db()
    stage = wf.stage(r.stage) if r.stage in wf.stages else None
    team_users: list[User] = []
    if stage and stage.team:
        people = select(User).where(User.is_active.is_(True)).options(selectinload(User.teams)).order_by(User.name)
        team_users = [u for u in session.scalars(people) if stage.team in u.team_keys or u.is_lead_or_admin]
    targets = list(stages_reachable(wf, a, r)) if stage else []
    return {
        "r": r,
        "stage": stage,
        "facts": policy_facts(r, workflow().today(now())),
        "targets": targets,
        "move_to": next((s for s in targets if s.key == move_to), targets[0] if targets else None),
        "may_act": may_act_on(a, wf, r.stage) and bool(stage and not stage.closed),
        "assignable": team_users,
        "resolutions": [Resolution(v) for v in wf.policy.allowed_resolutions],
        # a rejection tells the customer its reason in their language: the form shows which, and the text
        "rejection_reasons": list(wf.rejection_reasons.values()),
        "customer_lang": customer_language(r.customer_locale),
        "customer_lang_name": Locale.parse(customer_language(r.customer_locale)).get_display_name("en"),
        "Priority": Priority,
    }


def render_detail(
    rma: str,
    *,
    status: int = 200,
    message: str | None = None,
    level: str = "success",
    errors: dict[str, str] | None = None,
) -> tuple[str, int]:
    """The detail as a panel (htmx) or a full page."""
    session = db()
    session.expire_all()
    r = load_for_detail(session, rma)
    # a refused move keeps what was typed: the stage it was for, and the note
    refused_move = status >= 400 and request.endpoint == "returns.move"
    move_to = request.form.get("to_stage") if refused_move else request.args.get("move_to")
    ctx = {
        **detail_context(r, move_to),
        "move_note": request.form.get("note", "") if refused_move else "",
        "move_resolution": request.form.get("resolution", "") if refused_move else "",
        "move_rejection_reason": request.form.get("rejection_reason", "") if refused_move else "",
        "message": message,
        "level": level,
        "errors": errors or {},
    }
    hx = htmx()
    partial = hx and not hx.history_restore_request
    template = "returns/_detail.html" if partial else "returns/detail.html"
    return render_template(template, **ctx), status


@bp.get("/<rma>")
def detail(rma: str) -> tuple[str, int]:
    """A return: items, customer, policy facts, timeline, comments and actions.

    `?move_to=<stage>` opens it with the Move form on that stage (the board's drop on a stage that
    needs a resolution or a reason)."""
    return render_detail(rma)


def _act(rma: str, change: Callable[[], object], done: str) -> Response | tuple[str, int]:
    """Run one service call in a transaction and answer with the card or the detail, or the error."""
    session = db()
    try:
        # checked first by reading only: a refusal answers without waiting for the write lock; then, under it,
        # the return is loaded again and everything (its version too) checked once more before the write
        check_then_write(session, change)
        session.commit()
    except NotFound:
        session.rollback()
        raise
    except DomainError as exc:
        session.rollback()
        errors = exc.field_errors if isinstance(exc, ValidationFailed) else None
        message = exc.message
        if isinstance(exc, VersionConflict):  # the answer re-renders the card, panel or page with the change
            shown_in = "The card" if _from_board() else "The panel" if htmx() else "The page"
            message = worded_conflict(exc, display_zone(), shown_in=shown_in)
        if _from_board():
            return render_card_response(svc.get_return(session, rma), status=exc.status, message=message, level="error")
        # the page itself (not a redirect) even without htmx: the 4xx status and the field errors must survive
        return render_detail(rma, status=exc.status, message=message, level="error", errors=errors)
    if _from_board():
        return render_card_response(svc.get_return(session, rma), message=done)
    if not htmx():
        flash(done, "success")
        return redirect(url_for("returns.detail", rma=rma))
    return render_detail(rma, message=done)


@bp.post("/<rma>/move")
def move(rma: str) -> Response | tuple[str, int]:
    """Move to another stage (closing and reopening included)."""
    wf = workflow()
    to = request.form.get("to_stage", "").strip()
    name = wf.stages[to].name if to in wf.stages else to
    return _act(
        rma,
        lambda: svc.move_return(
            db(),
            wf,
            actor(),
            rma,
            to,
            expected_version=_version(),
            resolution=request.form.get("resolution") or None,
            rejection_reason=request.form.get("rejection_reason") or None,
            note=request.form.get("note"),
            now=now(),
        ),
        f"{rma.upper()} moved to “{name}”.",
    )


@bp.post("/<rma>/claim")
def claim(rma: str) -> Response | tuple[str, int]:
    """Assign the return to me."""
    return _act(
        rma,
        lambda: svc.claim_return(db(), workflow(), actor(), rma, expected_version=_version(), now=now()),
        f"You now own {rma.upper()}.",
    )


@bp.post("/<rma>/assign")
def assign(rma: str) -> Response | tuple[str, int]:
    """Assign the return to someone on the owning team, or to nobody."""
    assignee_id = whole_number(request.form.get("assignee_id"), "assignee_id")
    assignee = None
    if assignee_id is not None and (assignee := db().get(User, assignee_id)) is None:
        abort(400, f"no user with id {assignee_id}")
    who = assignee.name if assignee else "nobody"
    return _act(
        rma,
        lambda: svc.assign_return(db(), workflow(), actor(), rma, assignee, expected_version=_version(), now=now()),
        f"{rma.upper()} assigned to {who}.",
    )


@bp.post("/<rma>/comment")
def comment(rma: str) -> Response | tuple[str, int]:
    """Leave a comment (mention people with @name)."""
    return _act(
        rma,
        lambda: svc.add_comment(db(), workflow(), actor(), rma, request.form.get("body", ""), now=now()),
        "Comment added.",
    )


@bp.post("/<rma>/flag")
def flag(rma: str) -> Response | tuple[str, int]:
    """Mark as blocked, with the reason."""
    return _act(
        rma,
        lambda: svc.flag_return(
            db(), workflow(), actor(), rma, request.form.get("reason", ""), expected_version=_version(), now=now()
        ),
        f"{rma.upper()} is flagged as blocked.",
    )


@bp.post("/<rma>/unflag")
def unflag(rma: str) -> Response | tuple[str, int]:
    """Clear the blocked flag."""
    return _act(
        rma,
        lambda: svc.unflag_return(db(), workflow(), actor(), rma, expected_version=_version(), now=now()),
        f"{rma.upper()} is no longer blocked.",
    )


@bp.post("/<rma>/snooze")
def snooze(rma: str) -> Response | tuple[str, int]:
    """Hold back the delay alerts for a few hours ("remind me in 4 hours")."""
    raw = request.form.get("hours", "4")
    try:
        hours = float(raw)
    except ValueError:
        abort(400, f"hours must be a number, got {raw!r}")
    return _act(
        rma,
        lambda: svc.snooze_return(db(), workflow(), actor(), rma, hours, now=now()),
        f"Delay alerts for {rma.upper()} are snoozed for {hours:g} hours.",
    )


@bp.post("/<rma>/reopen")
def reopen(rma: str) -> Response | tuple[str, int]:
    """Reopen a closed return."""
    return _act(
        rma,
        lambda: svc.reopen_return(
            db(), workflow(), actor(), rma, note=request.form.get("note"), expected_version=_version(), now=now()
        ),
        f"{rma.upper()} is reopened.",
    )


@bp.post("/<rma>/shipping")
def shipping(rma: str) -> Response | tuple[str, int]:
    """Set the carrier and tracking number."""
    return _act(
        rma,
        lambda: svc.update_shipping(
            db(),
            workflow(),
            actor(),
            rma,
            carrier=request.form.get("carrier", ""),
            tracking_number=request.form.get("tracking_number", ""),
            expected_version=_version(),
            now=now(),
        ),
        "Shipping details saved.",
    )


# --- new return -------------------------------------------------------------------------


def _draft_from_form() -> ReturnDraft:
    form = request.form
    items = []
    for i in range(MAX_ITEM_ROWS):
        fields = {
            k: form.get(f"items-{i}-{k}", "")
            for k in ("sku", "product_name", "quantity", "unit_price", "reason_code", "reason_note", "category")
        }
        if i > 0 and not any(v.strip() for k, v in fields.items() if k not in ("quantity",)):
            continue
        items.append(ItemDraft(**fields))
    return ReturnDraft(
        order_number=form.get("order_number", ""),
        customer_name=form.get("customer_name", ""),
        customer_email=form.get("customer_email", ""),
        customer_locale=form.get("customer_locale", "en"),
        delivered_on=form.get("delivered_on") or None,
        items=items,
        priority=form.get("priority", "normal"),
        carrier=form.get("carrier", ""),
        tracking_number=form.get("tracking_number", ""),
    )


# what the new-return form shows a field for (the template's inputs): an error for anything else (a generated
# RMA that collided, a field a service added) goes in the form's notice, so no error is ever invisible
FORM_FIELDS = frozenset(
    ("order_number", "customer_name", "customer_email", "customer_locale", "delivered_on", "priority", "items")
)
ITEM_FIELD = re.compile(r"items\[(\d+)\]\.(sku|product_name|category|quantity|unit_price|reason_code|reason_note)")


def _unplaced(errors: dict[str, str], draft: ReturnDraft) -> dict[str, str]:
    """The errors the form has no field for."""

    def placed(key: str) -> bool:
        item = ITEM_FIELD.fullmatch(key)
        return key in FORM_FIELDS or (item is not None and int(item[1]) < len(draft.items))

    return {k: v for k, v in errors.items() if not placed(k)}


def _form_limits() -> dict[str, object]:
    """The validator's limits, for the inputs' maxlength (one source of truth)."""
    return {"max_length": MAX_LENGTH, "max_item_length": MAX_ITEM_LENGTH, "max_quantity": MAX_QUANTITY}


@bp.route("/new", methods=["GET", "POST"])
def new() -> Response | tuple[str, int]:
    """The new-return form, checked by the same rules as the CSV import."""
    wf = workflow()
    if not may_create(actor(), wf):
        abort(403, deny_create(actor(), wf).message)
    draft, errors, status = ReturnDraft(items=[ItemDraft(unit_price="")]), {}, 200
    if request.method == "POST":
        draft = _draft_from_form()
        session, t = db(), now()
        try:
            clean = validate_draft(draft, wf, wf.today(t))  # a form with mistakes answers without the write lock
            r = svc.create_return(writing(), wf, actor(), clean, now=t)
            session.commit()
        except ValidationFailed as exc:
            session.rollback()
            errors, status = exc.field_errors, 422
        else:
            flash(f"{r.rma} created for {r.customer_name}.", "success")
            if htmx():
                resp = Response("", status=204)
                resp.headers["HX-Redirect"] = url_for("returns.detail", rma=r.rma)
                return resp
            return redirect(url_for("returns.detail", rma=r.rma))
    template = "returns/_new_form.html" if htmx() else "returns/new.html"
    return render_template(
        template,
        draft=draft,
        errors=errors,
        unplaced=_unplaced(errors, draft),
        Priority=Priority,
        customer_languages=CUSTOMER_LANGUAGES,
        **_form_limits(),
    ), status


@bp.get("/new/item")
def new_item_row() -> str:
    """One more empty item row for the new-return form."""
    try:
        i = int(request.args.get("i", "1"))
    except ValueError:
        abort(400, "i must be a number")
    if not 0 < i < MAX_ITEM_ROWS:
        abort(400, f"at most {MAX_ITEM_ROWS} items per return")
    return render_template(
        "returns/_item_row.html", i=i, item=ItemDraft(unit_price=""), errors={}, oob_add=True, **_form_limits()
    )
