"""Post URLs and post ids: ``CONSENTRY_POST_URL_TEMPLATE`` read both ways.

The template is where the platform shows a post, ``{post_id}`` standing for its id (URL-quoted).
An absolute template (``https://social.example/@x/{post_id}``) matches whole URLs, its scheme
and host included; a path template (``/posts/{post_id}``, the default) matches the path of a URL
on any host, so the platform's edge can ask about the URLs it serves as they are. A query string
or fragment is ignored; anything else that does not fit the template is not a post.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import quote, unquote, urlsplit


@dataclass(frozen=True)
class PostUrls:
    template: str

    @property
    def absolute(self) -> bool:
        return self.template.startswith(("https://", "http://"))

    @property
    def pattern(self) -> str:
        """The robots.txt (RFC 9309) path pattern of every post: ``/posts/*``."""
        path = urlsplit(self.template).path if self.absolute else self.template
        head, _, tail = path.partition("{post_id}")
        return f"{head}*{tail}{'$' if tail else ''}"

    def path_of(self, post_id: str) -> str:
        """The path of a post's page (robots.txt, RSL and TDMRep rules are paths)."""
        url = self.template.replace("{post_id}", quote(post_id, safe=""))
        return urlsplit(url).path if self.absolute else url

    def post_id(self, url: str) -> str | None:
        """The post id a URL shows, or None when the URL is not a post's page."""
        parts = urlsplit(url.strip())
        seen = f"{parts.scheme}://{parts.netloc}{parts.path}" if self.absolute else parts.path
        head, _, tail = self.template.partition("{post_id}")
        if not (seen.startswith(head) and seen.endswith(tail)) or len(seen) <= len(head + tail):
            return None
        quoted = seen[len(head) : len(seen) - len(tail)]
        return unquote(quoted) if "/" not in quoted else None
