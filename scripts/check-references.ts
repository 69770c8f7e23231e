/**
 * `npm run check:references`: fails when a Markdown file or a code comment cites something a clone does not have, when
 * the Russian README leaves out a command of the English one, or when the layout table of docs/development.md no
 * longer matches the tree. The rules are stated in docs/development.md#tests.
 *
 * What counts as a citation, and so the forms the repository uses:
 * - a repository path, written from the root: `shared/http/inbound/payload.ts`, `local/paper-broker/`, `functions/<broker>/handler.ts`
 *   (`<…>` and `*` stand for any one name), or relative to the citing file when it starts with `./` or `../`;
 * - a Markdown file named anywhere in the text, such as `docs/contract.md`: it must be in the repository;
 * - a section or row of a Markdown file, as an anchor: `README.md#deploy-to-aws`, `docs/contract.md#no-credential`
 *   (GitHub's heading slugs, and `<a id="…">`); in Markdown, also a link to one, resolved from the linking file: an
 *   inline link `[text](target "title")`, a reference definition `[label]: target`, or an HTML `href`/`src`;
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
/**
 * A Markdown link's target: inline `[text](target)` or `[text](<target> "title")`, a reference definition
 * `[label]: target` at the start of a line, or an HTML attribute `href="target"` / `src="target"`.
 */
const MARKDOWN_LINK =
  /\]\(<([^>\n]+)>(?:\s+"[^"\n]*")?\)|\]\(([^)\s]+)(?:\s+"[^"\n]*")?\)|^ {0,3}\[[^\]\n]+\]:[ \t]+<?([^\s>]+)>?|\b(?:href|src)="([^"]+)"/dgm;
/** GitHub's anchor of a line or lines of a file that is not Markdown: `#L12`, `#L12-L20`. */
const LINE_ANCHOR = /^#L\d+(?:-L\d+)?$/;
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

/**
 * The parts of a file that may cite: all of a Markdown file and of an HTML page (the console's text cites docs), the
 * comments of code; nothing of other files.
 */
function passagesOf(file: RepoFile): Passage[] {
  if (file.path.endsWith('.md') || file.path.endsWith('.html')) return [{ text: file.text, offset: 0 }];
  if (CODE_FILE.test(file.path)) return codeComments(file);
  if (HASH_COMMENT_FILES.test(file.path)) return hashComments(file);
  return [];
}

/** The targets of a Markdown text's links ({@link MARKDOWN_LINK}), each with where it starts in the text. */
export function markdownLinks(text: string): { target: string; start: number }[] {
  return [...text.matchAll(MARKDOWN_LINK)].flatMap((match) => {
    const group = [1, 2, 3, 4].find((index) => match[index] !== undefined) ?? 0;
    const [start] = match.indices?.[group] ?? [];
    return start === undefined ? [] : [{ target: match[group] ?? '', start }];
  });
}

/** A link's path as the file system spells it (`%20` is a space); a malformed escape is left as written. */
function decodedPath(path: string): string {
  try {
    return decodeURI(path);
  } catch {
    return path;
  }
}

function isMarkdownFile(path: string): boolean {
  return path.endsWith('.md');
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
      if (
        anchor !== undefined &&
        !(isMarkdownFile(target) ? anchorsOf(target).has(anchor.slice(1)) : LINE_ANCHOR.test(anchor))
      ) {
        report(offset, `cites ${cited}${anchor}, a section or row that ${target} does not have`);
      }
    };

    // Parsing is the slow part: a file that names no candidate at all has nothing to check.
    const isMarkdown = file.path.endsWith('.md');
    if (!isMarkdown && file.text.search(citedPath) < 0 && !file.text.includes('README')) continue;
    for (const passage of passagesOf(file)) {
      let text = passage.text;
      if (isMarkdown) {
        // Markdown links resolve from the file's folder, as a reader's browser does. What a link names is blanked
        // out afterwards, so the path search below does not report it a second time.
        for (const link of markdownLinks(text)) {
          const offset = passage.offset + link.start;
          text = `${text.slice(0, link.start)}${' '.repeat(link.target.length)}${text.slice(link.start + link.target.length)}`;
          if (/^[a-z][a-z0-9+.-]*:/i.test(link.target)) continue;
          const hash = link.target.indexOf('#');
          const linked = hash < 0 ? link.target : link.target.slice(0, hash);
          const anchor = hash < 0 ? undefined : link.target.slice(hash);
          if (linked !== '') check(decodedPath(linked), anchor, offset, folder);
          else if (!anchorsOf(file.path).has(link.target.slice(1))) {
            report(offset, `links to ${link.target}, not in this file`);
          }
        }
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

/** Info strings of the fenced blocks that hold shell commands. */
const SHELL_BLOCK = /^(?:sh|bash|shell|zsh|console)$/;

/** A shell line without its trailing `# comment` (a `#` inside quotes, or not after a space, is not one). */
function withoutComment(line: string): string {
  let quote: string | undefined;
  for (let index = 0; index < line.length; index++) {
    const char = line[index];
    if (quote !== undefined) {
      if (char === '\\' && quote === '"') index++;
      else if (char === quote) quote = undefined;
    } else if (char === "'" || char === '"') {
      quote = char;
    } else if (char === '#' && (index === 0 || /\s/.test(line[index - 1] ?? ''))) {
      return line.slice(0, index);
    }
  }
  return line;
}

/**
 * The shell commands of a Markdown text, in order, with the line each starts on: every line of its `sh` (or `bash`,
 * `shell`, `zsh`, `console`) fenced blocks, its comment dropped, blank and comment-only lines skipped, a line ending in
 * `\` joined with the next.
 */
export function shellCommands(text: string): { command: string; line: number }[] {
  const commands: { command: string; line: number }[] = [];
  let fence: string | undefined;
  let shell = false;
  let pending: { command: string; line: number } | undefined;
  text.split('\n').forEach((raw, index) => {
    const opening = /^\s*(`{3,}|~{3,})\s*([^\s`]*)/.exec(raw);
    if (fence === undefined) {
      if (opening) [fence, shell] = [opening[1], SHELL_BLOCK.test(opening[2] ?? '')];
      return;
    }
    if (opening && opening[1]?.[0] === fence[0] && (opening[1]?.length ?? 0) >= fence.length && opening[2] === '') {
      fence = undefined;
      return;
    }
    if (!shell) return;
    const code = withoutComment(raw).trim();
    const continued = code.endsWith('\\');
    const part = continued ? code.slice(0, -1).trim() : code;
    if (pending !== undefined) pending = { command: `${pending.command} ${part}`.trim(), line: pending.line };
    else if (part !== '') pending = { command: part, line: index + 1 };
    if (!continued && pending !== undefined) {
      commands.push(pending);
      pending = undefined;
    }
  });
  return commands;
}

/**
 * Where a translation of a Markdown file differs from it in its shell commands: both must hold the same commands in the
 * same order ({@link shellCommands}), so every step of the original is in the translation and none is only there.
 */
export function findTranslationDrift(files: readonly RepoFile[], original: string, translation: string): string[] {
  const byPath = new Map(files.map((file) => [file.path, file]));
  const source = byPath.get(original);
  const twin = byPath.get(translation);
  if (source === undefined) return [];
  if (twin === undefined) return [`${translation}: missing; it must hold every command of ${original}`];
  const ours = shellCommands(source.text);
  const theirs = shellCommands(twin.text);
  const countsOf = (list: readonly { command: string }[]) => {
    const counts = new Map<string, number>();
    for (const { command } of list) counts.set(command, (counts.get(command) ?? 0) + 1);
    return counts;
  };
  const problems: string[] = [];
  const unmatched = (list: typeof ours, other: typeof ours) => {
    const left = countsOf(other);
    return list.filter(({ command }) => {
      const count = left.get(command) ?? 0;
      left.set(command, count - 1);
      return count <= 0;
    });
  };
  for (const { command, line } of unmatched(ours, theirs)) {
    problems.push(
      `${translation}: lacks \`${command}\` (${original}:${line}); its shell blocks must hold the same commands`,
    );
  }
  for (const { command, line } of unmatched(theirs, ours)) {
    problems.push(`${translation}:${line}: \`${command}\` is not a command of ${original}`);
  }
  if (problems.length > 0) return problems;
  const moved = ours.findIndex(({ command }, index) => theirs[index]?.command !== command);
  if (moved < 0) return [];
  const [here, there] = [ours[moved], theirs[moved]];
  return [
    `${translation}:${there?.line}: \`${there?.command}\` where ${original}:${here?.line} has \`${here?.command}\`: the commands must come in the same order`,
  ];
}

/**
 * Where the layout table of a Markdown page (the first table after the heading with the given anchor) disagrees with
 * the tree: a path in its first column (in backticks; `<…>` and `*` stand for any one name) that does not exist, a path
 * listed twice, or a top-level folder or folder directly under `shared/` that no row lists (a row lists a folder when
 * its path is that folder or lies inside it).
 */
export function findLayoutDrift(
  files: readonly RepoFile[],
  page: string,
  anchor: string,
  isIgnored: (path: string) => boolean = () => false,
): string[] {
  const text = files.find((file) => file.path === page)?.text;
  if (text === undefined) return [`${page}: missing; it must hold the layout table (#${anchor})`];
  const lines = text.split('\n');
  const headingIndex = lines.findIndex((line) => {
    const heading = /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    return heading !== null && headingSlug(heading[1] ?? '') === anchor;
  });
  if (headingIndex < 0) return [`${page}: no section #${anchor}, where the layout table belongs`];
  const rows: { paths: string[]; line: number }[] = [];
  for (let index = headingIndex + 1; index < lines.length; index++) {
    const line = lines[index] ?? '';
    if (/^#{1,6}\s/.test(line)) break;
    if (!line.startsWith('|')) {
      if (rows.length > 0) break;
      continue;
    }
    const firstCell = line.split('|')[1] ?? '';
    if (/^\s*:?-{3,}/.test(firstCell)) continue;
    rows.push({ paths: [...firstCell.matchAll(/`([^`]+)`/g)].map((match) => match[1] ?? ''), line: index + 1 });
  }
  const body = rows.slice(1);
  if (body.length === 0) return [`${page}: no table under #${anchor}`];

  const paths = files.map((file) => file.path);
  const problems: string[] = [];
  const seen = new Map<string, number>();
  const listed: RegExp[] = [];
  for (const { paths: cited, line } of body) {
    for (const path of cited) {
      const pattern = pathPattern(path);
      if (!paths.some((candidate) => pattern.test(candidate)) && !isIgnored(path)) {
        problems.push(`${page}:${line}: the layout lists ${path}, which does not exist`);
      }
      const key = path.replace(/\/$/, '');
      const first = seen.get(key);
      if (first !== undefined) problems.push(`${page}:${line}: the layout lists ${path} again (line ${first})`);
      else seen.set(key, line);
      listed.push(pattern);
    }
  }
  const folders = new Set<string>();
  for (const path of paths) {
    const parts = path.split('/');
    if (parts.length > 1) folders.add(`${parts[0]}/`);
    if (parts[0] === 'shared' && parts.length > 2) folders.add(`shared/${parts[1]}/`);
  }
  for (const folder of [...folders].sort()) {
    // A row lists the folder when its path is the folder or lies inside it: its pattern matches a file within it.
    const within = paths.filter((path) => path.startsWith(folder));
    const isListed = listed.some(
      (pattern) => pattern.test(folder.slice(0, -1)) || within.some((path) => pattern.test(path)),
    );
    if (!isListed) problems.push(`${page}: the layout table lists nothing under ${folder}`);
  }
  return problems;
}

/** The translations whose shell commands must be the original's, and the page whose layout table must be the tree's. */
const TRANSLATIONS = [{ original: 'README.md', translation: 'README.ru.md' }] as const;
const LAYOUT = { page: 'docs/development.md', anchor: 'layout' } as const;

/** Every problem the check reports: broken references, translations that drift, a layout table that drifts. */
export function findProblems(files: readonly RepoFile[], isIgnored: (path: string) => boolean): string[] {
  return [
    ...findBrokenReferences(files, isIgnored),
    ...TRANSLATIONS.flatMap(({ original, translation }) => findTranslationDrift(files, original, translation)),
    ...findLayoutDrift(files, LAYOUT.page, LAYOUT.anchor, isIgnored),
  ];
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
  const problems = findProblems(files, isIgnored);
  for (const problem of problems) process.stderr.write(`${problem}\n`);
  process.stdout.write(
    problems.length === 0
      ? `References: ${files.length} files checked: every cited path and section exists, ${TRANSLATIONS.map(({ translation }) => translation).join(', ')} holds every command, the layout table matches the tree.\n`
      : `References: ${problems.length} problem(s) (see above).\n`,
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) main();
