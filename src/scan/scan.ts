import { parseJson, withoutByteOrderMark } from '../mesos/json.ts';
import { commandLineDetections } from './command-line.ts';
import { type Detection, type Finding, uniqueDetections } from './finding.ts';
import { scanJsonDocument } from './json-walk.ts';

// The first line of `ps -eo args` output sorted by name: a kernel thread, `[kthreadd]`.
const KERNEL_THREAD_LINE = /^\s*\[[^\]"{},:]*\]\s*(\n|$)/;

/**
 * Scans one input. Text whose first non-blank character is `{` or `[` must be valid JSON
 * and is walked as a document. A parse error names `source` (`-` is standard input) and
 * the line and column, never the content. Any other text has one process command line
 * per line, where lines starting with `#` are comments. A leading byte order mark is
 * skipped, and a first line like `[kthreadd]` reads as a command line.
 */
export function scanText(input: string, source: string): Finding[] {
  const text = withoutByteOrderMark(input);
  if (/^\s*[[{]/.test(text) && !KERNEL_THREAD_LINE.test(text)) {
    const inputName = source === '-' ? 'standard input' : source;
    return scanDocument(parseJson(text, inputName), source);
  }
  const detections = text.split('\n').flatMap((line, index) => {
    if (/^\s*(#|$)/.test(line)) return [];
    return commandLineDetections(line.replace(/\r$/, ''), `line ${index + 1}`);
  });
  return withSource(detections, source);
}

/** Scans a parsed JSON document of any shape. */
export function scanDocument(document: unknown, source: string): Finding[] {
  return withSource(scanJsonDocument(document), source);
}

function withSource(detections: Detection[], source: string): Finding[] {
  return uniqueDetections(detections).map((detection) => ({ source, ...detection }));
}
