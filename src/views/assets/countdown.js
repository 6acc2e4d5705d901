// Live idle countdown for elements marked data-countdown. The server measured the
// remaining time on the store's clock; counting it down from page load with the
// monotonic clock keeps a wrong browser clock out of it. No inline script: the pages'
// CSP is default-src 'self'.
(() => {
  const els = Array.from(document.querySelectorAll('[data-countdown]'));
  if (els.length === 0) return;
  const start = performance.now();
  const fmt = (ms) => {
    const s = Math.max(0, Math.floor(ms / 1000));
    if (s < 60) return `${s} s`;
    const m = Math.floor(s / 60);
    if (m < 60) return s % 60 ? `${m} min ${s % 60} s` : `${m} min`;
    const h = Math.floor(m / 60);
    if (h < 48) return m % 60 ? `${h} h ${m % 60} min` : `${h} h`;
    const d = Math.floor(h / 24);
    return h % 24 ? `${d} days ${h % 24} h` : `${d} days`;
  };
  const tick = () => {
    const elapsed = performance.now() - start;
    let running = false;
    for (const el of els) {
      const left = Number(el.dataset.remainingMs) - elapsed;
      if (left > 0) {
        el.textContent = fmt(left);
        running = true;
      } else if (!el.classList.contains('ended')) {
        el.textContent = el.dataset.endedText || 'ended';
        el.classList.add('ended');
      }
    }
    if (running) setTimeout(tick, 1000 - (elapsed % 1000));
  };
  tick();
})();
