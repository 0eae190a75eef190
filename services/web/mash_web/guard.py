"""Who is signed in, and whether they may see a page: every page and endpoint behind sign-in asks `require`."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from urllib.parse import quote

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from mash_runtime.store import Database

from . import people
from .people import Ended, Role, SignedIn
from .render import Renderer

SESSION_COOKIE = "mash_session"


class Guard:
    def __init__(self, db: Database, render: Renderer, idle: timedelta):
        self.db = db
        self.render = render
        self.idle = idle

    async def signed_in(self, request: Request, keep: dict | None = None, csrf: object = None) -> SignedIn | None:
        who = await self.session(request, keep, csrf)
        return who if isinstance(who, SignedIn) else None

    async def session(self, request: Request, keep: dict | None = None, csrf: object = None) -> SignedIn | Ended:
        token = request.cookies.get(SESSION_COOKIE)
        if not token:
            return Ended.UNKNOWN
        return await self.db.run(self._session, token, keep, str(csrf or ""))

    def _session(self, token: str, keep: dict | None, csrf: str) -> SignedIn | Ended:
        with self.db.transaction() as s:
            return people.session_of(s, token, datetime.now(UTC), self.idle, keep, csrf)

    async def require(self, request: Request, *roles: Role, keep: dict | None = None, csrf: object = None) -> SignedIn | Response:
        """The signed-in person, if their role may see this; otherwise the answer to send: the sign-in page (a session
        that timed out says so, and `keep`, what was just posted, is saved as the draft) or a refusal naming the roles
        that may."""
        who = await self.session(request, keep, csrf)
        if not isinstance(who, SignedIn):
            response: Response = RedirectResponse(f"/sign-in?next={quote(request.url.path)}{_why(request, who)}", status_code=303)
            response.delete_cookie(SESSION_COOKIE, path="/")
            return response
        if roles and who.person.role not in roles:
            return self.render.page("refused.html", 403, signed_in=who, roles=[people.ROLE_NAMES[r] for r in roles])
        return who

    def csrf_ok(self, who: SignedIn, given: object) -> bool:
        return people.same_token(who.csrf, str(given or ""))


def _why(request: Request, ended: Ended) -> str:
    """What the sign-in page tells a person whose session ended: a disabled account is never called a time-out."""
    if ended is Ended.DISABLED:
        return "&disabled=1"
    # Any other cookie that signs nobody in most likely outlived its idle time (its row went on an earlier request).
    return "&timed_out=1" if request.cookies.get(SESSION_COOKIE) else ""


def set_session(response: Response, token: str) -> None:
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict", path="/")
