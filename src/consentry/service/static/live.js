// Keep a part of the page current while work runs: every 2 seconds, read the page again and
// put its new [data-live] element in place of the old one, until the page has none. Without
// JavaScript the page offers a link to reload it instead. (No automatic page refresh: people
// using screen readers or magnifiers lose their place when a page reloads under them.)
(function () {
  function poll() {
    var live = document.querySelector("[data-live]");
    if (!live) return;
    fetch(location.href, { credentials: "same-origin" })
      .then(function (r) { return r.text(); })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById(live.id);
        if (fresh) live.replaceWith(fresh);
        setTimeout(poll, 2000);
      })
      .catch(function () { setTimeout(poll, 5000); });
  }
  setTimeout(poll, 2000);
})();
