// How the network counts a USSD reply: GSM 7-bit septets (182) or, when any character is
// outside that alphabet, UCS-2 code units (80). Mirrors ussd_gateway/engine/gsm.py.
"use strict";
const GSM_BASIC = new Set(
  "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?" +
  "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà");
const GSM_EXTENDED = new Set("\f^{}\\[~]|€");

function ussdLength(text) {
  let septets = 0;
  for (const ch of text) {
    if (GSM_BASIC.has(ch)) septets += 1;
    else if (GSM_EXTENDED.has(ch)) septets += 2;
    else return { used: text.length, limit: 80, encoding: "UCS-2" };  // UTF-16 code units
  }
  return { used: septets, limit: 182, encoding: "GSM-7" };
}
