import { generateKeyPair as generateKeyPairCallback, randomBytes, randomInt } from 'node:crypto';
import { promisify } from 'node:util';
import { z } from 'zod';
import { TesseraError } from '../errors.ts';

/** The character classes a generated password draws from. */
export const PASSWORD_CLASSES = {
  lower: 'abcdefghijklmnopqrstuvwxyz',
  upper: 'ABCDEFGHIJKLMNOPQRSTUVWXYZ',
  digits: '0123456789',
  symbols: '!#$%&()*+,-./:;<=>?@[]^_{|}~',
} as const;

/** The name of one character class. */
export type PasswordClass = keyof typeof PASSWORD_CLASSES;

const classNames = Object.keys(PASSWORD_CLASSES) as [PasswordClass, ...PasswordClass[]];

/** The key pair algorithms `generate` supports. */
export const KEY_ALGORITHMS = ['ed25519', 'ecdsa-p256', 'rsa-2048', 'rsa-4096'] as const;

/** A generator as a rotation policy gives it. */
export const generatorSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('password'),
    length: z.number().int().min(8).max(1024).default(32),
    classes: z.array(z.enum(classNames)).min(1).default(['lower', 'upper', 'digits']),
    /** Characters never used, such as quotes that a target system's syntax would trip on. */
    exclude: z.string().max(256).default(''),
  }),
  z.strictObject({
    type: z.literal('bytes'),
    length: z.number().int().min(16).max(4096).default(32),
    encoding: z.enum(['hex', 'base64']).default('base64'),
  }),
  z.strictObject({
    type: z.literal('keypair'),
    algorithm: z.enum(KEY_ALGORITHMS),
  }),
]);

/** A validated generator. */
export type GeneratorSpec = z.infer<typeof generatorSchema>;

/**
 * Generates a new value with `node:crypto`'s random source. Passwords and bytes go in
 * the field `value`; a key pair in `private_key` (PKCS #8 PEM) and `public_key` (SPKI
 * PEM). Throws INVALID_ARGUMENT when the classes minus the excluded characters leave no
 * character, or fewer classes than the length can cover.
 */
export async function generate(spec: GeneratorSpec): Promise<Record<string, Buffer>> {
  if (spec.type === 'password') return { value: Buffer.from(generatePassword(spec)) };
  if (spec.type === 'bytes') {
    return { value: Buffer.from(randomBytes(spec.length).toString(spec.encoding)) };
  }
  return generateKeyPair(spec.algorithm);
}

function generatePassword(spec: GeneratorSpec & { type: 'password' }): string {
  const excluded = new Set(spec.exclude);
  const pools = [...new Set(spec.classes)].map((name) => {
    const pool = [...PASSWORD_CLASSES[name]].filter((char) => !excluded.has(char));
    if (pool.length === 0) {
      throw new TesseraError(
        'INVALID_ARGUMENT',
        `generator.exclude removes every character of class ${name}; drop the class or ` +
          'exclude fewer characters',
      );
    }
    return pool;
  });
  if (pools.length > spec.length) {
    throw new TesseraError(
      'INVALID_ARGUMENT',
      `generator.length ${spec.length} is shorter than the ${pools.length} classes it must cover`,
    );
  }

  // One character from each class, then any from all, in random order.
  const all = pools.flat();
  const chars = pools.map((pool) => pick(pool));
  while (chars.length < spec.length) chars.push(pick(all));
  for (let index = chars.length - 1; index > 0; index--) {
    const other = randomInt(index + 1);
    [chars[index], chars[other]] = [chars[other] as string, chars[index] as string];
  }
  return chars.join('');
}

function pick(pool: string[]): string {
  return pool[randomInt(pool.length)] as string;
}

const generatePair = promisify(generateKeyPairCallback);

// The asynchronous form runs in the thread pool, so an RSA 4096 key does not stall requests.
async function generateKeyPair(
  algorithm: (typeof KEY_ALGORITHMS)[number],
): Promise<Record<string, Buffer>> {
  const encoding = {
    publicKeyEncoding: { type: 'spki', format: 'pem' },
    privateKeyEncoding: { type: 'pkcs8', format: 'pem' },
  } as const;
  const pair = (algorithm === 'ed25519'
    ? await generatePair('ed25519', encoding)
    : algorithm === 'ecdsa-p256'
      ? await generatePair('ec', { namedCurve: 'P-256', ...encoding })
      : await generatePair('rsa', {
          modulusLength: algorithm === 'rsa-2048' ? 2048 : 4096,
          ...encoding,
        })) as unknown as { privateKey: string; publicKey: string };
  return { private_key: Buffer.from(pair.privateKey), public_key: Buffer.from(pair.publicKey) };
}
