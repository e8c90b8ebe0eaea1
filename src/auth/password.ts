import { hash, verify } from "@node-rs/argon2";
import { verifyPassword as verifyScrypt } from "better-auth/crypto";

// OWASP's minimum for argon2id: 19 MiB of memory, two passes, one lane. Better Auth's default scrypt
// cost is below OWASP's floor, so new passwords use this instead.
// `algorithm: 2` is Argon2id; the package declares it as a const enum, which isolated modules cannot import.
const argon2idOptions = { algorithm: 2, memoryCost: 19_456, timeCost: 2, parallelism: 1 } as const;

/** Hashes a new password with argon2id; the PHC string records its parameters for later verification. */
export function hashPassword(password: string): Promise<string> {
  return hash(password, argon2idOptions);
}

/** True for a hash written with today's scheme and cost; anything else is upgraded at next sign-in. */
export function isCurrentHash(stored: string): boolean {
  return stored.startsWith("$argon2id$v=19$m=19456,t=2,p=1$");
}

/**
 * Checks a password against a stored hash: argon2id for hashes this server wrote, Better Auth's
 * scrypt format (`salt:key` in hex) for hashes stored before argon2id was configured.
 */
export async function verifyPassword(input: { hash: string; password: string }): Promise<boolean> {
  if (input.hash.startsWith("$argon2")) return verify(input.hash, input.password);
  if (/^[0-9a-f]+:[0-9a-f]+$/i.test(input.hash)) return verifyScrypt(input);
  return false;
}
