/**
 * `npm run check:references`: fails when a Markdown file or a code comment cites something a clone does not have.
 *
 * What counts as a citation, and so the forms the repository uses:
 * - a repository path, written from the root: `shared/payload.ts`, `local/paper-broker/`, `functions/<broker>/handler.ts`
 *   (`<…>` and `*` stand for any one name), or relative to the citing file when it starts with `./` or `../`;
 * - a Markdown file named anywhere in the text, such as `docs/contract.md`: it must be in the repository;
 * - a section or row of a Markdown file, as an anchor: `README.md#deploy-to-aws`, `docs/contract.md#no-credential`
 *   (GitHub's heading slugs, and `<a id="…">`); in Markdown, also a link to one, resolved from the linking file;
 * - the word README followed by a quoted heading is refused: sections are cited by anchor.
 * A path git ignores (build output such as `bench/results.json`) is accepted: the docs describe what commands make.
 */
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { posix } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { checkNodeSupport } from '#local/node-support.ts';

export interface RepoFile {
  /** From the repository root, with `/`. */
  readonly path: string;
  readonly text: string;
}

interface Passage {
  readonly text: string;
  /** Where the passage starts in its file. */
  readonly offset: number;
}

const CODE_FILE = /\.(?:ts|mts|mjs|js)$/;
const HASH_COMMENT_FILES = /(?:^\.ci\/run|\.sh|^\.env\.example)$/;

/** Every comment of a TypeScript or JavaScript file, found by the compiler's own parser (not fooled by strings). */
function codeComments(file: RepoFile): Passage[] {
  const kind = /\.m?js$/.test(file.path) ? ts.ScriptKind.JS : ts.ScriptKind.TS;
  const source = ts.createSourceFile(file.path, file.text, ts.ScriptTarget.Latest, true, kind);
  const passages = new Map<number, Passage>();
  const collect = (ranges: ts.CommentRange[] | undefined) => {
    for (const range of ranges ?? []) {
      passages.set(range.pos, { text: file.text.slice(range.pos, range.end), offset: range.pos });
    }
  };
  const visit = (node: ts.Node) => {
    collect(ts.getLeadingCommentRanges(file.text, node.pos));
    collect(ts.getTrailingCommentRanges(file.text, node.end));
    for (const child of node.getChildren(source)) visit(child);
  };
  visit(source);
  return [...passages.values()].sort((a, b) => a.offset - b.offset);
}

function hashComments(file: RepoFile): Passage[] {
  const passages: Passage[] = [];
  let offset = 0;
  for (const line of file.text.split('\n')) {
    const start = line.search(/(?:^|\s)#(?!!)/);
    if (start >= 0) passages.push({ text: line.slice(start), offset: offset + start });
    offset += line.length + 1;
  }
  return passages;
}

/** The parts of a file that may cite: all of a Markdown file, the comments of code; nothing of other files. */
function passagesOf(file: RepoFile): Passage[] {
  if (file.path.endsWith('.md')) return [{ text: file.text, offset: 0 }];
  if (CODE_FILE.test(file.path)) return codeComments(file);
  if (HASH_COMMENT_FILES.test(file.path)) return hashComments(file);
  return [];
}

/** GitHub's anchor of a heading: lower case, punctuation dropped (letters, digits, `_`, `-` and spaces kept), spaces as `-`. */
export function headingSlug(heading: string): string {
  return heading
    .replace(/\[([^\]]*)\]\([^)]*\)/g, '$1')
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{M}\p{N}\p{Pc}\- ]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors a Markdown text defines: heading slugs (numbered when repeated, as GitHub does) and `<a id>`/`name`. */
export function markdownAnchors(text: string): Set<string> {
  const anchors = new Set<string>();
  const counts = new Map<string, number>();
  let fenced = false;
  for (const line of text.split('\n')) {
    if (/^\s*(?:```|~~~)/.test(line)) fenced = !fenced;
    const heading = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (heading) {
      const slug = headingSlug(heading[1] ?? '');
      const seen = counts.get(slug) ?? 0;
      counts.set(slug, seen + 1);
      anchors.add(seen === 0 ? slug : `${slug}-${seen}`);
    }
    for (const match of line.matchAll(/<a\s[^>]*\b(?:id|name)="([^"]+)"/g)) anchors.add(match[1] ?? '');
  }
  return anchors;
}

function lineOf(text: string, offset: number): number {
  let line = 1;
  for (let index = text.indexOf('\n'); index >= 0 && index < offset; index = text.indexOf('\n', index + 1)) line++;
  return line;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.+?^${}()|[\]\\]/g, '\\$&');
}

/** A cited path as a test on a repository path: `<name>` and `*` match one name; a trailing `/` a folder. */
function pathPattern(cited: string): RegExp {
  const body = cited
    .replace(/\/$/, '')
    .split(/(<[^>/]*>|\*)/)
    .map((part) => (part === '*' || /^<.*>$/.test(part) ? '[^/]+' : escapeRegExp(part)))
    .join('');
  return new RegExp(`^${body}(?:/.*)?$`);
}

/**
 * The problems of the references in `files`, as `path:line: …` lines; `files` is everything a clone has (its text is
 * read for the files that may cite and for the anchors of Markdown files), `isIgnored` says which paths git ignores.
 */
export function findBrokenReferences(files: readonly RepoFile[], isIgnored: (path: string) => boolean): string[] {
  const paths = files.map((file) => file.path);
  const byPath = new Map(files.map((file) => [file.path, file]));
  const topFolders = [...new Set(paths.filter((path) => path.includes('/')).map((path) => path.split('/')[0] ?? ''))];
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOf = (path: string) => {
    let anchors = anchorCache.get(path);
    if (anchors === undefined) {
      anchors = markdownAnchors(byPath.get(path)?.text ?? '');
      anchorCache.set(path, anchors);
    }
    return anchors;
  };
  const exists = (path: string) => {
    const pattern = pathPattern(path);
    return paths.some((candidate) => pattern.test(candidate)) || isIgnored(path);
  };

  const citedPath = new RegExp(
    `(?<![\\w@/.$-])((?:\\.{1,2}/)*(?:${topFolders.map(escapeRegExp).join('|')})/[\\w.<>*/-]*[\\w>*/]|(?:\\.{1,2}/)*[\\w.-]+\\.md)(#[\\w\\p{L}-]+)?`,
    'gu',
  );
  const problems: string[] = [];

  for (const file of files) {
    const folder = posix.dirname(file.path);
    const report = (offset: number, problem: string) => {
      problems.push(`${file.path}:${lineOf(file.text, offset)}: ${problem}`);
    };
    /** A cited path (root-relative unless it starts with ./ or ../) and anchor: what is wrong with it, if anything. */
    const check = (cited: string, anchor: string | undefined, offset: number, relativeTo: string | undefined) => {
      const target = relativeTo !== undefined ? posix.normalize(posix.join(relativeTo, cited)) : cited;
      if (target.startsWith('../')) return report(offset, `cites ${cited}, outside the repository`);
      if (!exists(target)) return report(offset, `cites ${cited}, which does not exist`);
      if (anchor !== undefined && !anchorsOf(target).has(anchor.slice(1))) {
        report(offset, `cites ${cited}${anchor}, a section or row that ${target} does not have`);
      }
    };

    // Parsing is the slow part: a file that names no candidate at all has nothing to check.
    const isMarkdown = file.path.endsWith('.md');
    if (!isMarkdown && file.text.search(citedPath) < 0 && !file.text.includes('README')) continue;
    for (const passage of passagesOf(file)) {
      let text = passage.text;
      if (isMarkdown) {
        // Markdown links resolve from the file's folder, as a reader's browser does.
        text = text.replace(/\]\(([^)\s]+)\)/g, (whole, target: string, index: number) => {
          const offset = passage.offset + index;
          if (/^[a-z]+:/i.test(target)) return whole;
          const hash = target.indexOf('#');
          const linked = hash < 0 ? target : target.slice(0, hash);
          const anchor = hash < 0 ? undefined : target.slice(hash);
          if (linked !== '') check(linked, anchor, offset, folder);
          else if (!anchorsOf(file.path).has(target.slice(1))) report(offset, `links to ${target}, not in this file`);
          return `](${' '.repeat(target.length)})`;
        });
      }
      for (const match of text.matchAll(/README\s+(?:section\s+)?["«“]([^"»”]*)/g)) {
        report(passage.offset + (match.index ?? 0), `cites README "${match[1]}": cite a section as README.md#<anchor>`);
      }
      for (const match of text.matchAll(citedPath)) {
        const cited = match[1] ?? '';
        const relative = cited.startsWith('./') || cited.startsWith('../');
        check(cited, match[2], passage.offset + (match.index ?? 0), relative ? folder : undefined);
      }
    }
  }
  return problems;
}

function git(args: string[], input?: string): string {
  return execFileSync('git', args, { encoding: 'utf8', input, maxBuffer: 64 * 1024 * 1024 });
}

function main(): void {
  checkNodeSupport();
  const root = fileURLToPath(new URL('..', import.meta.url));
  process.chdir(root);
  // What a clone has: tracked files, plus new ones not ignored (so a check before `git add` sees them too).
  const paths = git(['ls-files', '--cached', '--others', '--exclude-standard', '-z'])
    .split('\0')
    .filter((path) => path !== '');
  const files: RepoFile[] = [];
  for (const path of paths) {
    try {
      files.push({ path, text: readFileSync(path, 'utf8') });
    } catch {
      // Deleted in the work tree but still in the index: not in a clone of this tree.
    }
  }
  const isIgnored = (path: string) => {
    try {
      git(['check-ignore', '--quiet', '--no-index', path]);
      return true;
    } catch {
      return false;
    }
  };
  const problems = findBrokenReferences(files, isIgnored);
  for (const problem of problems) process.stderr.write(`${problem}\n`);
  process.stdout.write(
    problems.length === 0
      ? `References: ${files.length} files checked, every cited path and section exists.\n`
      : `References: ${problems.length} broken (see above).\n`,
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
