// Injected by the platform into every page of a browser step: Largest Contentful Paint and Cumulative Layout
// Shift of the top document, reported to the worker as they change. Page scripts run after this one.
(() => {
  if (window.top !== window) return;
  const report = window["__BINDING__"];
  const origin = performance.timeOrigin;
  let lcp = null;
  let cls = 0;
  const send = () => {
    try { report(JSON.stringify({ origin, lcp, cls })); } catch (e) {}
  };
  try {
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) lcp = entry.startTime;
      send();
    }).observe({ type: "largest-contentful-paint", buffered: true });
    new PerformanceObserver((list) => {
      for (const entry of list.getEntries()) if (!entry.hadRecentInput) cls += entry.value;
      send();
    }).observe({ type: "layout-shift", buffered: true });
  } catch (e) {}
})();
