import { parseJson } from '../mesos/json.ts';
import { commandLineDetections } from './command-line.ts';
import { type Detection, type Finding, uniqueDetections } from './finding.ts';
import { scanJsonDocument } from './json-walk.ts';

/**
 * Scans one input. Text whose first non-blank character is `{` or `[` must be valid JSON
 * and is walked as a document; an error names `source` (`-` is standard input) and the
 * line and column, never the content. Any other text has one process command line per line, where lines
 * starting with `#` are comments.
 */
export function scanText(text: string, source: string): Finding[] {
  if (/^\s*[[{]/.test(text)) {
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
