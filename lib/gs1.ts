/**
 * GS1 mod-10 check digits for connection EAN codes (18 digits) and party GLNs (13 digits).
 *
 * Pure and deterministic (safe in Temporal workflow code). Validation is strict: exactly the digits, no
 * trimming, no separators — normalise input at the edge (API layer) before calling these.
 *
 * Algorithm (GS1 General Specifications, "check digit calculation"): weight the body digits 3, 1, 3, 1, …
 * starting from the RIGHTMOST body digit; the check digit is (10 − sum mod 10) mod 10.
 */

const DIGITS = /^[0-9]+$/;

/** Check digit for a body of one or more ASCII digits. Throws RangeError on anything else. */
export function gs1CheckDigit(bodyDigits: string): number {
  if (typeof bodyDigits !== 'string' || !DIGITS.test(bodyDigits)) {
    throw new RangeError(`GS1 body must be one or more digits 0-9, got ${JSON.stringify(bodyDigits)}`);
  }
  let sum = 0;
  for (let i = bodyDigits.length - 1, weight = 3; i >= 0; i -= 1, weight = 4 - weight) {
    sum += (bodyDigits.charCodeAt(i) - 48) * weight;
  }
  return (10 - (sum % 10)) % 10;
}

/** `body` followed by its check digit — for generating test and demo codes. */
export function withCheckDigit(body: string): string {
  return `${body}${gs1CheckDigit(body)}`;
}

function isValidGs1OfLength(code: unknown, length: number): boolean {
  if (typeof code !== 'string' || code.length !== length || !DIGITS.test(code)) return false;
  return gs1CheckDigit(code.slice(0, -1)) === Number(code.slice(-1));
}

/** An 18-digit EAN code with a valid check digit (any country prefix). */
export function isValidEan18(code: string): boolean {
  return isValidGs1OfLength(code, 18);
}

/**
 * A valid 18-digit EAN code of a Dutch connection (prefix 871, per DOMAIN.md glossary "aansluiting").
 * Kept separate from isValidEan18 so that callers decide whether a foreign code is an error.
 */
export function isDutchConnectionEan(code: string): boolean {
  return isValidEan18(code) && code.startsWith('871');
}

/** A 13-digit GLN (Global Location Number, identifies a party) with a valid check digit. */
export function isValidGln13(code: string): boolean {
  return isValidGs1OfLength(code, 13);
}
