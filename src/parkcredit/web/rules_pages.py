"""Rule governance pages (issue 17): draft (upload or edit), read the diff and the backtest as the committee
reads them, approve and publish the text on the page (its content hash travels with the form), retire.

Each route parses its form, calls one use case of `parkcredit.app.rulesets` (or the page view of
`app.ruleset_pages`) and renders; the maker-checker rules, the 409 on a changed text and the roles
are the use cases' own, as in the API.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Path, Request, UploadFile
from fastapi.responses import RedirectResponse, Response

from parkcredit.app import Actor, ruleset_pages
from parkcredit.app import rulesets as app_rulesets
from parkcredit.app.idempotency import Replayed
from parkcredit.errors import InvalidInput
from parkcredit.web.auth import require_page
from parkcredit.web.deps import Ctx, check_csrf
from parkcredit.web.render import page

__all__ = ["router"]

router = APIRouter(prefix="/web/rulesets", include_in_schema=False)

Reader = Annotated[Actor, Depends(require_page(*ruleset_pages.READERS))]
Drafter = Annotated[Actor, Depends(require_page("committee", "approver"))]
Approver = Annotated[Actor, Depends(require_page("approver"))]
RuleSetId = Annotated[int, Path(ge=1, le=2**31 - 1)]
MAX_TEXT = 200_000  # characters of rule text a form may carry (the bundled files are ~20,000)


async def _text_of(text: str, file: UploadFile | None) -> tuple[str, str]:
    """The rule text of the form: the uploaded file when one is given, else the text area."""
    if file is not None and file.filename:
        data = await file.read(MAX_TEXT * 4 + 1)
        if len(data) > MAX_TEXT * 4:
            raise InvalidInput(("body", "file"), f"the file is larger than {MAX_TEXT * 4:,} bytes")
        try:
            return data.decode("utf-8-sig"), file.filename[:200]
        except UnicodeDecodeError:
            raise InvalidInput(("body", "file"), "the file is not UTF-8 text") from None
    if len(text) > MAX_TEXT:
        raise InvalidInput(("body", "text"), f"the text is longer than {MAX_TEXT:,} characters")
    return text, "draft.yaml"


def _form(request: Request, caller: Actor, *, text: str, note: str, action: str, error: InvalidInput | None,
          status: int = 200) -> Response:  # fmt: skip
    err = ruleset_pages.text_error(error) if error is not None else None
    lines = text.splitlines()
    around = []
    if err is not None and err.line:
        lo, hi = max(1, err.line - 3), min(len(lines), err.line + 3)
        around = [(i, lines[i - 1]) for i in range(lo, hi + 1)]
    return page(request, "ruleset_form.html", caller, text=text, note=note, action=action, error=err, around=around,
                status=status)  # fmt: skip


async def _save(
    request: Request,
    caller: Actor,
    csrf: str,
    text: str,
    note: str,
    file: UploadFile | None,
    *,
    action: str,
    store: Callable[[str, str], int],
    echo_with_file: bool = False,
) -> Response:
    """A posted draft (new or edited): stored and shown, or the form again with the refusal at its line."""
    check_csrf(request, csrf)
    try:
        body, filename = await _text_of(text, file)
        ruleset_id = store(body, filename)
    except InvalidInput as exc:
        uploaded = file is not None and bool(file.filename)
        return _form(request, caller, text=text if echo_with_file or not uploaded else "", note=note, action=action,
                     error=exc, status=422)  # fmt: skip
    return RedirectResponse(f"/web/rulesets/{ruleset_id}", 303)


@router.get("/new")
def new_draft_form(request: Request, ctx: Ctx, caller: Drafter, base: int | None = None) -> Response:
    """A draft to write: empty, or the text of version `base` to edit into a new version."""
    text = app_rulesets.read_version(ctx, base).text if base else ""
    return _form(request, caller, text=text, note="", action="/web/rulesets/new", error=None)


@router.post("/new")
async def new_draft(
    request: Request,
    ctx: Ctx,
    caller: Drafter,
    csrf: Annotated[str, Form(max_length=100)],
    text: Annotated[str, Form(max_length=MAX_TEXT + 1)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
    file: UploadFile | None = None,
) -> Response:
    def store(body: str, filename: str) -> int:
        out = app_rulesets.create_draft(ctx, caller, text=body, filename=filename, note=note)
        assert not isinstance(out, Replayed)  # no idempotency key: never a replay
        return out.ruleset_id

    return await _save(request, caller, csrf, text, note, file, action="/web/rulesets/new", store=store)


@router.get("/{ruleset_id}")
def version(request: Request, ruleset_id: RuleSetId, ctx: Ctx, caller: Reader) -> Response:
    """One version as the committee reads it: status, text with line numbers, diff, backtest, actions."""
    view = ruleset_pages.version_page(ctx, caller, ruleset_id)
    moved = ruleset_pages.page_rows(view.backtest) if view.backtest else None
    return page(request, "ruleset.html", caller, v=view.version, diff=view.diff, bt=view.backtest, moved=moved,
                why_no_diff=view.why_no_diff, lines=view.lines)  # fmt: skip


@router.get("/{ruleset_id}/edit")
def edit_form(request: Request, ruleset_id: RuleSetId, ctx: Ctx, caller: Drafter) -> Response:
    v = app_rulesets.read_version(ctx, ruleset_id)
    return _form(request, caller, text=v.text, note=v.note, action=f"/web/rulesets/{ruleset_id}/edit", error=None)


@router.post("/{ruleset_id}/edit")
async def edit_draft(
    request: Request,
    ruleset_id: RuleSetId,
    ctx: Ctx,
    caller: Drafter,
    csrf: Annotated[str, Form(max_length=100)],
    text: Annotated[str, Form(max_length=MAX_TEXT + 1)] = "",
    note: Annotated[str, Form(max_length=500)] = "",
    file: UploadFile | None = None,
) -> Response:
    def store(body: str, filename: str) -> int:
        app_rulesets.replace_draft(ctx, caller, ruleset_id, text=body, filename=filename, note=note)
        return ruleset_id

    return await _save(request, caller, csrf, text, note, file, action=f"/web/rulesets/{ruleset_id}/edit",
                       store=store, echo_with_file=True)  # fmt: skip


@router.post("/{ruleset_id}/approve")
def approve(
    request: Request,
    ruleset_id: RuleSetId,
    ctx: Ctx,
    caller: Approver,
    csrf: Annotated[str, Form(max_length=100)],
    content_hash: Annotated[str, Form(min_length=10, max_length=80)],
    note: Annotated[str, Form(max_length=500)] = "",
) -> Response:
    """Approve the text the approver read on the page: its content hash goes with the form (409 if changed)."""
    check_csrf(request, csrf)
    app_rulesets.approve(ctx, caller, ruleset_id, content_hash=content_hash, note=note)
    return RedirectResponse(f"/web/rulesets/{ruleset_id}?done=approve", 303)


@router.post("/{ruleset_id}/publish")
def publish(
    request: Request,
    ruleset_id: RuleSetId,
    ctx: Ctx,
    caller: Approver,
    csrf: Annotated[str, Form(max_length=100)],
    content_hash: Annotated[str, Form(min_length=10, max_length=80)],
) -> Response:
    """Publish the approved text shown on the page (its content hash; 409 if it is not that text)."""
    check_csrf(request, csrf)
    app_rulesets.publish(ctx, caller, ruleset_id, content_hash=content_hash)
    return RedirectResponse(f"/web/rulesets/{ruleset_id}?done=publish", 303)


@router.post("/{ruleset_id}/retire")
def retire(
    request: Request,
    ruleset_id: RuleSetId,
    ctx: Ctx,
    caller: Drafter,
    csrf: Annotated[str, Form(max_length=100)],
    reason: Annotated[str, Form(min_length=2, max_length=500)],
) -> Response:
    """Retire a version (kept for replay); an approver for approved or published ones, a draft's author for a draft."""
    check_csrf(request, csrf)
    app_rulesets.retire(ctx, caller, ruleset_id, reason=reason)
    return RedirectResponse(f"/web/rulesets/{ruleset_id}?done=retire", 303)
