"""What a settled page shows of its consent manager, read without touching its banner: which of the known
platforms' globals it defines, and what the IAB TCF and GPP APIs answer to `ping` (a call the specifications
make safe at any time: it reads the platform's state and changes nothing)."""

from __future__ import annotations

from playwright.async_api import Error as PlaywrightError
from playwright.async_api import Page

from scanfleet.worker.privacy.consent import ConsentSignals
from scanfleet.worker.privacy.consent_managers import GLOBALS, GPP_API, TCF_API

PING_MS = 500  # for an API to call back; a stub answers at once, a platform still loading may never

# Only the top frame: a consent manager runs there, and frames of other sites answer for themselves.
_READ = """async ([names, tcfName, gppName, waitMs]) => {
  const defined = (name) => {
    try {
      const value = window[name];
      // An element with that id is a named property of window too: it says nothing about a script.
      const element = value instanceof Element || value instanceof HTMLCollection;
      return value !== undefined && value !== null && !element;
    } catch (e) {
      return false;
    }
  };
  const ping = (name, args) => new Promise((resolve) => {
    if (typeof window[name] !== "function") return resolve(null);
    const timer = setTimeout(() => resolve({}), waitMs);
    try {
      window[name](...args, (answer) => {
        clearTimeout(timer);
        resolve(answer && typeof answer === "object" ? answer : {});
      });
    } catch (e) {
      clearTimeout(timer);
      resolve({});
    }
  });
  const pick = (answer, fields) => {
    if (!answer) return answer;
    const picked = {};
    for (const [from, to] of fields) {
      const value = answer[from];
      if (typeof value === "string") picked[to] = value.slice(0, 64);
      else if (typeof value === "number" || typeof value === "boolean") picked[to] = value;
    }
    return picked;
  };
  const [tcf, gpp] = await Promise.all([ping(tcfName, ["ping", 2]), ping(gppName, ["ping"])]);
  return {
    globals: names.filter(defined),
    tcf: pick(tcf, [["cmpId", "cmp_id"], ["cmpStatus", "cmp_status"], ["displayStatus", "display_status"],
                    ["gdprApplies", "gdpr_applies"]]),
    gpp: pick(gpp, [["cmpId", "cmp_id"], ["cmpStatus", "cmp_status"], ["cmpDisplayStatus", "display_status"],
                    ["signalStatus", "signal_status"]]),
  };
}"""


async def read_consent(page: Page) -> ConsentSignals:
    """The page's consent state as its top frame shows it now (its requests are added later); nothing if the frame
    is gone."""
    try:
        answer = await page.main_frame.evaluate(_READ, [list(GLOBALS), TCF_API, GPP_API, PING_MS])
    except PlaywrightError:
        return ConsentSignals([])
    return ConsentSignals(sorted(answer["globals"]), answer["tcf"], answer["gpp"])
