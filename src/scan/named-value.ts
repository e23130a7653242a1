import { variableDisplayName } from '../mesos/secret-rules.ts';
import { SECRETS_VARIABLE } from '../mesos/secrets-variable.ts';
import { type Detection, MASK, STORE_ADVICE } from './finding.ts';
import { secretsVariableDetection } from './inline-secrets.ts';
import { classifyName, isHarmlessValue } from './names.ts';
import { hasCredentialUrl } from './urls.ts';
import { namedValueFormDetection } from './value-forms.ts';

/**
 * Checks one `name = value` pair: an environment variable, a label, a flag or a
 * command-line option. `label` names the kind of pair for the message, as in "environment
 * variable". Returns undefined when the name does not look secret or the value is
 * harmless. A value containing a URL with a password is left to the URL rule, and the
 * `TESSERA_SECRETS` of a wrapped task is checked for inline values only. A value that its
 * form gives away (a private key, a token) is reported as that kind, with its advice.
 */
export function checkNamedValue(
  name: string,
  value: string,
  location: string,
  label: string,
): Detection | undefined {
  const nameClass = classifyName(name);
  if (nameClass === undefined || isHarmlessValue(value) || hasCredentialUrl(value)) {
    return undefined;
  }

  const subject = `${label} ${variableDisplayName(name)}`;
  if (name === SECRETS_VARIABLE) return secretsVariableDetection(value, location, subject);
  const form = namedValueFormDetection(value, location, subject);
  if (form !== undefined) return form;
  if (nameClass === 'measure') {
    return {
      location,
      severity: 'low',
      kind: 'secret-value',
      message: `${subject} has a name that looks secret but measures a size or time; check that its value (${MASK}) is not a secret, else ${STORE_ADVICE}`,
      redacted: MASK,
    };
  }
  if (value.includes('$(') || value.includes('`')) {
    return {
      location,
      severity: 'low',
      kind: 'command-substitution',
      message: `${subject} is set by command substitution (${MASK}), which expands into the process list where any local user can read it; read the secret from a file instead, or start the task with tessera exec`,
      redacted: MASK,
    };
  }
  return {
    location,
    severity: 'high',
    kind: 'secret-value',
    message: `${subject} has a plaintext value (${MASK}); ${STORE_ADVICE}`,
    redacted: MASK,
  };
}
