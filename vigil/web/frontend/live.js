// Live regions: an element with data-live="N" (seconds, 0 = off) and an id is refreshed every
// N s from the same URL, without a full reload: the page is fetched, parsed, and the region's
// content replaced by the fresh one's. Paused while the tab is hidden (refreshed at once when
// it comes back), and skipped while the person is working inside the region (focus in one of
// its forms) so an acknowledgement being typed is never wiped. A status line
// (data-live-status-for="ID") says when the region was last refreshed or that it failed.

const REGION = "[data-live][id]";

function statusFor(region) {
  return document.querySelector(`[data-live-status-for="${region.id}"]`);
}

function say(region, text, stale) {
  const status = statusFor(region);
  if (!status) return;
  status.textContent = text;
  status.classList.toggle("stale", stale);
}

function busy(region) {
  const active = document.activeElement;
  return active && active !== document.body && region.contains(active) && active.closest("form");
}

async function refresh(regions) {
  const wanted = regions.filter((r) => !busy(r));
  if (!wanted.length) return;
  let fresh;
  try {
    const response = await fetch(window.location.href, {
      headers: { Accept: "text/html", "X-Requested-With": "vigil-live" },
      credentials: "same-origin",
      cache: "no-store",
    });
    if (!response.ok) throw new Error(`HTTP ${response.status}`);
    fresh = new DOMParser().parseFromString(await response.text(), "text/html");
  } catch (e) {
    for (const r of wanted) say(r, `Live update failed (${e.message}); retrying`, true);
    return;
  }
  const time = new Date().toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
  for (const region of wanted) {
    const next = fresh.getElementById(region.id);
    if (!next) { // e.g. the session ended and the answer is the login page
      say(region, "Live update stopped: reload the page (signed out?)", true);
      continue;
    }
    if (next.innerHTML !== region.innerHTML) region.replaceChildren(...next.childNodes);
    say(region, `Live · updated ${time}`, false);
  }
  document.dispatchEvent(new CustomEvent("vigil:refreshed"));
}

export function startLiveRegions(root) {
  const regions = [...root.querySelectorAll(REGION)].filter((r) => Number(r.dataset.live) > 0);
  if (!regions.length) return;
  const everyMs = Math.min(...regions.map((r) => Number(r.dataset.live))) * 1000;
  let timer = null;
  let running = false;
  const tick = async () => {
    if (running) return;
    running = true;
    try { await refresh(regions); } finally { running = false; }
  };
  const schedule = () => {
    clearInterval(timer);
    timer = document.hidden ? null : setInterval(tick, everyMs);
  };
  document.addEventListener("visibilitychange", () => {
    for (const r of regions) say(r, document.hidden ? "Live · paused" : "Live", false);
    if (!document.hidden) tick();
    schedule();
  });
  for (const r of regions) say(r, `Live · every ${everyMs / 1000} s`, false);
  schedule();
}

startLiveRegions(document);
