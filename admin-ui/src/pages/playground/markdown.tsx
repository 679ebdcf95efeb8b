// A small Markdown renderer for chat answers, safe by construction: the text
// is parsed into blocks and inline spans and rendered as React elements, so
// HTML in the answer stays text. Headings, paragraphs, bold/italic, inline
// code, fenced code blocks (copyable; an unclosed fence while streaming still
// renders as code), lists, block quotes, rules and http(s) links.
import { Fragment, type ReactNode } from 'react';
import { Anchor, Box, Code, Divider, Group, List, Text, Title } from '@mantine/core';
import { useTranslation } from 'react-i18next';
import { CopyIcon } from '../../components/CopyIcon';

export type Block =
  | { type: 'heading'; level: 1 | 2 | 3 | 4 | 5 | 6; text: string }
  | { type: 'paragraph'; lines: string[] }
  | { type: 'code'; lang: string; code: string; closed: boolean }
  | { type: 'list'; ordered: boolean; start: number; items: string[] }
  | { type: 'quote'; lines: string[] }
  | { type: 'rule' };

const FENCE = /^ {0,3}(`{3,}|~{3,})\s*([^`\s]*)/;
const HEADING = /^ {0,3}(#{1,6})\s+(.*?)\s*#*\s*$/;
const BULLET = /^\s*[-*+]\s+(.*)$/;
const ORDERED = /^\s*(\d{1,9})[.)]\s+(.*)$/;
const RULE = /^ {0,3}([-*_])(\s*\1){2,}\s*$/;
const QUOTE = /^ {0,3}>\s?(.*)$/;

export function parseBlocks(src: string): Block[] {
  const lines = src.replace(/\r\n?/g, '\n').split('\n');
  const out: Block[] = [];
  let i = 0;
  while (i < lines.length) {
    const line = lines[i];
    const fence = FENCE.exec(line);
    if (fence) {
      const marker = fence[1];
      const body: string[] = [];
      i++;
      let closed = false;
      while (i < lines.length) {
        const l = lines[i];
        const t = l.trim();
        if (t.startsWith(marker[0].repeat(marker.length)) && /^(`{3,}|~{3,})$/.test(t) && t[0] === marker[0]) {
          closed = true;
          i++;
          break;
        }
        body.push(l);
        i++;
      }
      out.push({ type: 'code', lang: fence[2] || '', code: body.join('\n'), closed });
      continue;
    }
    if (!line.trim()) {
      i++;
      continue;
    }
    const h = HEADING.exec(line);
    if (h) {
      out.push({ type: 'heading', level: h[1].length as 1, text: h[2] });
      i++;
      continue;
    }
    if (RULE.test(line)) {
      out.push({ type: 'rule' });
      i++;
      continue;
    }
    if (QUOTE.test(line)) {
      const q: string[] = [];
      while (i < lines.length && QUOTE.test(lines[i])) q.push(QUOTE.exec(lines[i])![1]), i++;
      out.push({ type: 'quote', lines: q });
      continue;
    }
    const b = BULLET.exec(line);
    const o = ORDERED.exec(line);
    if (b || o) {
      const ordered = !b;
      const re = ordered ? ORDERED : BULLET;
      const items: string[] = [];
      const start = o ? parseInt(o[1], 10) : 1;
      while (i < lines.length) {
        const m = re.exec(lines[i]);
        if (m) {
          items.push(ordered ? m[2] : m[1]);
          i++;
        } else if (lines[i].trim() && /^\s{2,}/.test(lines[i]) && items.length) {
          items[items.length - 1] += '\n' + lines[i].trim(); // continuation line
          i++;
        } else break;
      }
      out.push({ type: 'list', ordered, start, items });
      continue;
    }
    const para: string[] = [];
    while (
      i < lines.length &&
      lines[i].trim() &&
      !FENCE.test(lines[i]) &&
      !HEADING.test(lines[i]) &&
      !RULE.test(lines[i]) &&
      !QUOTE.test(lines[i]) &&
      !BULLET.test(lines[i]) &&
      !ORDERED.test(lines[i])
    ) {
      para.push(lines[i]);
      i++;
    }
    if (!para.length) para.push(lines[i++]); // never stall on a line no rule took
    out.push({ type: 'paragraph', lines: para });
  }
  return out;
}

/** http(s) URLs only; anything else (javascript:, data:, relative) is not a link. */
export function safeHref(url: string): string | null {
  try {
    const u = new URL(url.trim());
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/** Inline spans: `code`, **bold**, __bold__, *italic*, _italic_, [text](url), bare URLs. */
export function renderInline(text: string, keyPrefix = 'i'): ReactNode[] {
  const out: ReactNode[] = [];
  let plain = '';
  let k = 0;
  const flush = () => {
    if (plain) out.push(plain);
    plain = '';
  };
  const key = () => `${keyPrefix}-${k++}`;
  let i = 0;
  while (i < text.length) {
    const rest = text.slice(i);
    const c = text[i];
    if (c === '\\' && i + 1 < text.length && /[\\`*_[\]()#+\-.!>~]/.test(text[i + 1])) {
      plain += text[i + 1];
      i += 2;
      continue;
    }
    if (c === '`') {
      const m = /^(`+)([\s\S]*?[^`])\1(?!`)/.exec(rest);
      if (m) {
        flush();
        out.push(<Code key={key()}>{m[2].replace(/^ (.*) $/, '$1')}</Code>);
        i += m[0].length;
        continue;
      }
    }
    if (c === '*' || c === '_') {
      const strong = new RegExp(`^\\${c}\\${c}(?=\\S)([\\s\\S]*?\\S)\\${c}\\${c}`).exec(rest);
      if (strong) {
        flush();
        out.push(<strong key={key()}>{renderInline(strong[1], key())}</strong>);
        i += strong[0].length;
        continue;
      }
      const prevWord = i > 0 && /\w/.test(text[i - 1]);
      const em = new RegExp(`^\\${c}(?=[^\\s${c}])([\\s\\S]*?[^\\s${c}])\\${c}(?!\\w)`).exec(rest);
      if (em && !(c === '_' && prevWord)) {
        flush();
        out.push(<em key={key()}>{renderInline(em[1], key())}</em>);
        i += em[0].length;
        continue;
      }
    }
    if (c === '[') {
      const m = /^\[([^\]\n]+)\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/.exec(rest);
      if (m) {
        flush();
        const href = safeHref(m[2]);
        if (href)
          out.push(
            <Anchor key={key()} href={href} target="_blank" rel="noopener noreferrer nofollow">
              {renderInline(m[1], key())}
            </Anchor>,
          );
        else out.push(<Fragment key={key()}>{renderInline(m[1], key())}</Fragment>);
        i += m[0].length;
        continue;
      }
    }
    if ((c === 'h' || c === 'H') && (i === 0 || /[\s(]/.test(text[i - 1]))) {
      const m = /^https?:\/\/[^\s<>()]+[^\s<>().,;:!?'"]/i.exec(rest);
      if (m && safeHref(m[0])) {
        flush();
        out.push(
          <Anchor key={key()} href={safeHref(m[0])!} target="_blank" rel="noopener noreferrer nofollow">
            {m[0]}
          </Anchor>,
        );
        i += m[0].length;
        continue;
      }
    }
    plain += c;
    i++;
  }
  flush();
  return out;
}

function lineBreaks(lines: string[], prefix: string): ReactNode[] {
  return lines.flatMap((l, j) => (j ? [<br key={`${prefix}-br${j}`} />, ...renderInline(l, `${prefix}-${j}`)] : renderInline(l, `${prefix}-${j}`)));
}

export function CodeBlock({ code, lang }: { code: string; lang: string }) {
  const { t } = useTranslation('playground');
  return (
    <Box my="xs" data-testid="md-code" style={{ minWidth: 0 }}>
      <Group justify="space-between" gap="xs" wrap="nowrap" mb={2}>
        <Text size="xs" c="dimmed">
          {lang}
        </Text>
        <CopyIcon value={code} label={t('copyCode')} size="sm" iconSize={14} />
      </Group>
      <Code block style={{ overflowX: 'auto', whiteSpace: 'pre' }}>
        {code}
      </Code>
    </Box>
  );
}

export function Markdown({ text }: { text: string }) {
  const blocks = parseBlocks(text);
  return (
    <Box style={{ overflowWrap: 'anywhere', minWidth: 0 }} className="tf-markdown">
      {blocks.map((b, n) => {
        const p = `b${n}`;
        switch (b.type) {
          case 'heading':
            return (
              <Title key={p} order={Math.min(6, b.level + 2) as 3} mt="sm" mb={4}>
                {renderInline(b.text, p)}
              </Title>
            );
          case 'paragraph':
            return (
              <Text key={p} component="p" my={6} size="sm">
                {lineBreaks(b.lines, p)}
              </Text>
            );
          case 'code':
            return <CodeBlock key={p} code={b.code} lang={b.lang} />;
          case 'list':
            return (
              <List key={p} type={b.ordered ? 'ordered' : 'unordered'} start={b.ordered ? b.start : undefined} size="sm" my={6} withPadding>
                {b.items.map((it, j) => (
                  <List.Item key={`${p}-${j}`}>{lineBreaks(it.split('\n'), `${p}-${j}`)}</List.Item>
                ))}
              </List>
            );
          case 'quote':
            return (
              <Box
                key={p}
                component="blockquote"
                my={6}
                pl="sm"
                style={{ borderLeft: '3px solid var(--mantine-color-default-border)', margin: 0 }}
              >
                <Text size="sm" c="dimmed">
                  {lineBreaks(b.lines, p)}
                </Text>
              </Box>
            );
          case 'rule':
            return <Divider key={p} my="sm" />;
        }
      })}
    </Box>
  );
}
