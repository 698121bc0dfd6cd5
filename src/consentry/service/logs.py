"""The server's access log without credentials: a sign-in link's token is in its query string."""

from __future__ import annotations

import logging
import re

_TOKEN = re.compile(r"([?&]token=)[^&\s]*")


class HideSigninTokens(logging.Filter):
    """Replace ``token=...`` in uvicorn's access lines by ``token=[hidden]``; a link is a
    credential until it is spent or expires, and logs outlive both."""

    def filter(self, record: logging.LogRecord) -> bool:
        if isinstance(record.args, tuple):
            record.args = tuple(
                _TOKEN.sub(r"\1[hidden]", a) if isinstance(a, str) else a for a in record.args
            )
        return True


def hide_signin_tokens_in_access_log() -> None:
    access = logging.getLogger("uvicorn.access")
    if not any(isinstance(f, HideSigninTokens) for f in access.filters):
        access.addFilter(HideSigninTokens())
