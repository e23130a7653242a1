import { argumentDetections, commandLineDetections } from './command-line.ts';
import { credentialFileDetection } from './credential-files.ts';
import { dockerAuthDetections, imageRegistry } from './docker-config.ts';
import type { Detection } from './finding.ts';
import { inlineSecretDetection } from './inline-secrets.ts';
import { childPath, isRecord } from './json-path.ts';
import { leakDetections } from './leaks.ts';
import { checkNamedValue } from './named-value.ts';
import { pairDetections } from './pairs.ts';
import { collectSecrets, definitionCommand, NO_SECRETS, type TaskSecrets } from './task-secrets.ts';
import { urlDetections } from './urls.ts';

type Fields = Record<string, unknown>;

// An object or array still to visit, with the key it sits under and, for an array
// element, the key of that array.
interface Frame {
  value: Fields | unknown[];
  path: string;
  key: string | number | undefined;
  arrayKey: string | number | undefined;
  secrets: TaskSecrets;
}

// Descriptions of the members of an object under these keys, for messages. A Map, because
// an input key such as `__proto__` or `constructor` would find a member of an object's
// prototype.
const MAP_KINDS = new Map<string | number | undefined, string>([
  ['env', 'environment variable'],
  ['environment', 'environment variable'],
  ['labels', 'label'],
  ['flags', 'flag'],
]);
// Marathon's `args`, Mesos's `arguments`, and a Marathon pod's `exec.command.argv`.
const ARGUMENT_KEYS = new Set(['args', 'arguments', 'argv']);
// Marathon names a secret by its id in `{"secret": "id"}`, in volumes
// `{"containerPath": ..., "secret": "id"}` and pod volumes `{"name": ..., "secret": "id"}`.
const SECRET_REFERENCE_KEYS = new Set(['secret', 'containerPath', 'name', 'mode']);

/**
 * The state of a walk. Docker configs are judged at the end, once the registries of all
 * images in the document are known.
 */
interface Walk {
  detections: Detection[];
  registries: Set<string>;
  dockerConfigs: { auths: Fields; location: string }[];
}

/**
 * Walks a JSON document of any shape (a Marathon app, pod or list of them, a TaskInfo, a
 * v1 call, a master's `/state` or `/flags`, Marathon's `/v2/info`, a Docker config.json)
 * and returns what it finds. The walk keeps its own stack, so deep nesting cannot overflow
 * the call stack.
 */
export function scanJsonDocument(document: unknown): Detection[] {
  const walk: Walk = { detections: [], registries: new Set(), dockerConfigs: [] };
  if (typeof document === 'string') {
    walk.detections.push(...commandLineDetections(document, '$'));
  }
  const stack: Frame[] = [];
  if (typeof document === 'object' && document !== null) {
    stack.push({
      value: document as Fields,
      path: '$',
      key: undefined,
      arrayKey: undefined,
      secrets: NO_SECRETS,
    });
  }
  while (stack.length > 0) {
    const frame = stack.pop() as Frame;
    const children = Array.isArray(frame.value)
      ? visitArray(frame.value, frame, walk)
      : visitObject(frame.value, frame, walk);
    // One push per child: spreading a very wide array overflows the call stack.
    for (let index = children.length - 1; index >= 0; index--) {
      stack.push(children[index] as Frame);
    }
  }
  for (const config of walk.dockerConfigs) {
    walk.detections.push(...dockerAuthDetections(config.auths, config.location, walk.registries));
  }
  return walk.detections;
}

function visitObject(object: Fields, frame: Frame, walk: Walk): Frame[] {
  const secrets = collectSecrets(object, frame.path, frame.secrets);
  const command = definitionCommand(object, frame.path);
  if (command !== undefined) walk.detections.push(...leakDetections(command, secrets));
  const inline = frame.key === 'secret' ? inlineSecretDetection(object, frame.path) : undefined;
  if (inline !== undefined) walk.detections.push(inline);
  collectImages(object, walk.registries);
  const auths = isRecord(object.auths) ? object.auths : undefined;
  if (auths !== undefined) {
    walk.dockerConfigs.push({ auths, location: childPath(frame.path, 'auths') });
  }
  const pair = pairDetections(object, childPath(frame.path, 'value'), frame.arrayKey);
  if (pair !== undefined) walk.detections.push(...pair);

  const children: Frame[] = [];
  for (const [key, value] of Object.entries(object)) {
    const path = childPath(frame.path, key);
    if (typeof value === 'string' && !(pair !== undefined && key === 'value')) {
      const uri = key === 'uri' || (frame.arrayKey === 'uris' && key === 'value');
      const named = isSecretReference(object, key)
        ? undefined
        : checkNamedValue(key, value, path, MAP_KINDS.get(frame.key) ?? 'field');
      const reported = named === undefined ? [] : [value];
      walk.detections.push(...stringDetections(value, path, { words: true, uri, reported }));
      if (named !== undefined) walk.detections.push(named);
    } else if (typeof value === 'object' && value !== null && value !== auths) {
      children.push({ value: value as Fields, path, key, arrayKey: undefined, secrets });
    }
  }
  return children;
}

function visitArray(array: unknown[], frame: Frame, walk: Walk): Frame[] {
  const strings = array.every((item) => typeof item === 'string');
  const argumentList = strings && ARGUMENT_KEYS.has(String(frame.key));
  if (argumentList) {
    const locate = (index: number) => childPath(frame.path, index);
    walk.detections.push(...argumentDetections(array as string[], locate));
  }

  const children: Frame[] = [];
  for (const [index, value] of array.entries()) {
    const path = childPath(frame.path, index);
    if (typeof value === 'string') {
      const options = { words: !argumentList, uri: frame.key === 'uris', reported: [] };
      walk.detections.push(...stringDetections(value, path, options));
    } else if (typeof value === 'object' && value !== null) {
      const secrets = frame.secrets;
      children.push({ value: value as Fields, path, key: index, arrayKey: frame.key, secrets });
    }
  }
  return children;
}

// The words of an argument list are checked together, so each string then gets only
// the URL rule. `reported` lists values that the name rule reported at `location`.
function stringDetections(
  value: string,
  location: string,
  options: { words: boolean; uri: boolean; reported: readonly string[] },
): Detection[] {
  const detections = options.words
    ? commandLineDetections(value, location, options.reported)
    : urlDetections(value, location);
  const file = options.uri ? credentialFileDetection(value, location) : undefined;
  return file === undefined ? detections : [...detections, file];
}

function isSecretReference(object: Fields, key: string): boolean {
  return key === 'secret' && Object.keys(object).every((name) => SECRET_REFERENCE_KEYS.has(name));
}

function collectImages(object: Fields, registries: Set<string>): void {
  const image = object.image;
  if (typeof image === 'string') registries.add(imageRegistry(image));
  if (!isRecord(image)) return;
  if (typeof image.id === 'string') registries.add(imageRegistry(image.id));
  if (isRecord(image.docker) && typeof image.docker.name === 'string') {
    registries.add(imageRegistry(image.docker.name));
  }
}
