// Keeps the inbox current by polling /work/count every 20 s (the page says how often): the badge shows the new
// number, and when the inbox would show something else (a case arrived or left, moved on, fell late) the list is
// fetched again and replaces the shown one. Polling, not server-sent events: one small indexed query per person
// every 20 s needs no connection held open through proxies, and a deadline measured in minutes loses nothing.
(function () {
  async function poll(inbox) {
    try {
      const answer = await fetch("/work/count", { credentials: "same-origin", redirect: "error" });
      if (!answer.ok) return;
      const now = await answer.json();
      const badge = document.getElementById("badge");
      if (badge) badge.textContent = now.count;
      if (now.stamp === inbox.dataset.stamp) return;
      if (inbox.contains(document.activeElement) && document.activeElement.form) return; // someone is filtering
      const page = await fetch(location.href, { credentials: "same-origin", redirect: "error" });
      if (!page.ok) return;
      const fresh = new DOMParser().parseFromString(await page.text(), "text/html").getElementById("inbox");
      if (fresh) inbox.replaceWith(fresh);
    } catch (error) {
      // offline or signed out: keep what is shown
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    if (!document.getElementById("inbox")) return;
    const seconds = Number(document.getElementById("inbox").dataset.poll) || 20;
    setInterval(function () {
      const inbox = document.getElementById("inbox");
      if (inbox) poll(inbox);
    }, seconds * 1000);
  });
})();
