// Keeps "time left / late" current between page loads (the server renders the first value).
(function () {
  function span(ms) {
    let minutes = Math.floor(Math.abs(ms) / 60000);
    const days = Math.floor(minutes / 1440); minutes -= days * 1440;
    const hours = Math.floor(minutes / 60); minutes -= hours * 60;
    const parts = [[days, "d"], [hours, "h"], [minutes, "m"]].filter(([n]) => n).map(([n, u]) => n + u);
    return parts.join(" ") || "<1m";
  }
  function tick() {
    document.querySelectorAll(".countdown[data-deadline]").forEach(function (cell) {
      if (!cell.dataset.deadline) return;
      const left = new Date(cell.dataset.deadline) - new Date();
      if (left < 0) cell.textContent = "late " + span(left);
      else if (cell.dataset.overdue === "true") cell.textContent = "overdue";
      else cell.textContent = span(left) + " left";
      cell.closest("tr").classList.toggle("late", left < 0 || cell.dataset.overdue === "true");
    });
  }
  document.addEventListener("DOMContentLoaded", function () { tick(); setInterval(tick, 30000); });
})();
