// Keeps the deadlines table current: every minute the server renders the page again (in the page's language,
// with its local times) and the fresh table replaces the shown one. A page that cannot be fetched (offline,
// signed out) keeps the table it has.
(function () {
  const EVERY_MS = 60000;
  async function refresh() {
    const shown = document.getElementById("deadlines");
    if (!shown) return;
    try {
      const answer = await fetch(location.href, { credentials: "same-origin", redirect: "error" });
      if (!answer.ok) return;
      const page = new DOMParser().parseFromString(await answer.text(), "text/html");
      const fresh = page.getElementById("deadlines");
      if (fresh) shown.replaceWith(fresh);
    } catch (error) {
      // keep the last table
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (document.getElementById("deadlines")) setInterval(refresh, EVERY_MS);
  });
})();
