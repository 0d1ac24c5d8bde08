// The resident's pages: what needs a script (location, photo checks, the private link's hand-over). Every word
// shown comes from the page (data-* attributes, the server's answers): the catalogue is the server's.
(function () {
  "use strict";

  function byId(id) { return document.getElementById(id); }

  // ---- report: anonymous only where the category allows it ----
  function anonymousFollowsCategory() {
    const box = byId("anonymous");
    if (!box) return;
    const chosen = document.querySelector("input[name=category]:checked");
    const allowed = !chosen || chosen.dataset.anonymous === "yes";
    box.disabled = !allowed;
    if (!allowed) box.checked = false;
    byId("anonymous-refused").hidden = allowed;
  }

  // ---- report: where ----
  function choose(code) {
    const select = byId("compound");
    select.value = code;
    byId("nearest").querySelectorAll("button").forEach(function (button) {
      button.classList.toggle("chosen", button.dataset.compound === code);
    });
    const option = select.selectedOptions[0];
    if (option) { option.hidden = false; option.scrollIntoView({ block: "nearest" }); }
  }

  function showNearest(nearest) {
    const box = byId("nearest");
    box.replaceChildren();
    nearest.forEach(function (near) {
      const button = document.createElement("button");
      button.type = "button";
      button.className = "choice";
      button.dataset.compound = near.code;
      button.textContent = near.label;
      box.appendChild(button);
    });
  }

  function locate(button) {
    const said = byId("located");
    if (!navigator.geolocation) { said.textContent = button.dataset.failed; return; }
    said.textContent = button.dataset.locating;
    navigator.geolocation.getCurrentPosition(function (position) {
      const lat = position.coords.latitude.toFixed(6), lon = position.coords.longitude.toFixed(6);
      byId("lat").value = lat;
      byId("lon").value = lon;
      fetch(button.dataset.where + "?lat=" + lat + "&lon=" + lon, { credentials: "same-origin" })
        .then(function (answer) { if (!answer.ok) throw new Error(answer.status); return answer.json(); })
        .then(function (where) {
          said.textContent = where.text;
          showNearest(where.nearest);
          choose(where.compound || "");
        })
        .catch(function () { said.textContent = button.dataset.failed; });
    }, function () { said.textContent = button.dataset.failed; }, { enableHighAccuracy: true, timeout: 15000, maximumAge: 60000 });
  }

  function filterCompounds(text) {
    const wanted = text.trim().toLowerCase();
    Array.from(byId("compound").options).forEach(function (option) {
      option.hidden = Boolean(option.value) && wanted !== "" && option.text.toLowerCase().indexOf(wanted) < 0;
    });
  }

  // ---- report: photos, checked before they are sent ----
  function checkPhotos(input) {
    const previews = byId("previews");
    previews.replaceChildren();
    const files = Array.from(input.files);
    let problem = "";
    if (files.length > Number(input.dataset.most)) problem = input.dataset.tooMany;
    else if (files.some(function (file) { return file.size > Number(input.dataset.bytes); })) problem = input.dataset.tooLarge;
    input.setCustomValidity(problem);
    const said = byId("photo-problem");
    said.textContent = problem;
    said.hidden = !problem;
    if (problem) return;
    files.forEach(function (file) {
      const image = document.createElement("img");
      image.src = URL.createObjectURL(file);
      image.alt = file.name;
      previews.appendChild(image);
    });
  }

  // ---- the private link: its token goes to the server in a POST body, never in a URL it sees ----
  function openCase(section) {
    const said = byId("opening-status");
    const found = location.hash.match(/[#&]t=([^&]+)/);
    const token = found ? decodeURIComponent(found[1]) : null;
    // Without a token the kept cookie is tried, once: answered yes and still not opened (cookies refused) means
    // no loop, just the words saying what to do.
    const tried = "whistle-opened:" + location.pathname;
    if (!token && Date.now() - Number(sessionStorage.getItem(tried) || 0) < 10000) return;
    sessionStorage.setItem(tried, String(Date.now()));
    if (token) said.textContent = section.dataset.opening;
    fetch(section.dataset.session, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ token: token }),
    }).then(function (answer) {
      if (answer.ok) { location.replace(location.pathname); return; }
      history.replaceState(null, "", location.pathname);
      if (token) said.textContent = section.dataset.invalid;
    }).catch(function () { if (token) said.textContent = section.dataset.invalid; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    const opening = byId("opening");
    if (opening) {
      openCase(opening);
      window.addEventListener("hashchange", function () { openCase(opening); });  // a link pasted into this tab
    }

    const report = byId("report");
    if (report) {
      report.addEventListener("change", function (event) {
        if (event.target.name === "category") anonymousFollowsCategory();
        if (event.target.id === "photos") checkPhotos(event.target);
      });
      anonymousFollowsCategory();
      byId("locate").addEventListener("click", function (event) { locate(event.currentTarget); });
      byId("compound-filter").addEventListener("input", function (event) { filterCompounds(event.target.value); });
      byId("nearest").addEventListener("click", function (event) {
        const button = event.target.closest("button[data-compound]");
        if (button) choose(button.dataset.compound);
      });
    }

    const copy = byId("copy");
    if (copy) {
      copy.addEventListener("click", function () {
        const link = byId("private-link");
        link.select();
        const done = function () { copy.textContent = copy.dataset.copied; };
        if (navigator.clipboard) navigator.clipboard.writeText(link.value).then(done, function () { document.execCommand("copy"); done(); });
        else { document.execCommand("copy"); done(); }
      });
    }
  });
})();
