import { render, screen, within } from '@testing-library/react';
import { MantineProvider } from '@mantine/core';
import { beforeAll, describe, expect, it } from 'vitest';
import i18n from '../../i18n';
import { Markdown, parseBlocks, safeHref } from './markdown';

function md(text: string) {
  return render(
    <MantineProvider>
      <div data-testid="root">
        <Markdown text={text} />
      </div>
    </MantineProvider>,
  );
}

describe('Markdown', () => {
  beforeAll(async () => {
    await i18n.changeLanguage('en');
    await i18n.loadNamespaces('playground');
  });

  it('keeps HTML in the text as text', () => {
    const { container } = md('Hello <img src=x onerror="alert(1)"> and <script>alert(2)</script>\n\n<b>bold?</b>');
    expect(container.querySelector('img')).toBeNull();
    expect(container.querySelector('script')).toBeNull();
    expect(container.querySelector('b')).toBeNull();
    expect(screen.getByTestId('root')).toHaveTextContent('Hello <img src=x onerror="alert(1)"> and <script>alert(2)</script>');
    expect(screen.getByTestId('root')).toHaveTextContent('<b>bold?</b>');
  });

  it('renders fenced code blocks verbatim with a copy button, even while the fence is still open', () => {
    md('Intro\n\n```js\nconst a = "<tag>";\n**not bold**\n```\n\nafter\n\n```py\nprint(1)');
    const blocks = screen.getAllByTestId('md-code');
    expect(blocks).toHaveLength(2);
    const pre = blocks[0].querySelector('pre');
    expect(pre).not.toBeNull();
    expect(pre!.textContent).toBe('const a = "<tag>";\n**not bold**');
    expect(blocks[0].querySelector('strong')).toBeNull();
    expect(within(blocks[0]).getByRole('button', { name: 'Copy the code' })).toBeInTheDocument();
    expect(blocks[0]).toHaveTextContent('js');
    expect(blocks[1].querySelector('pre')!.textContent).toBe('print(1)');
    expect(screen.getByText('after')).toBeInTheDocument();
  });

  it('renders headings, emphasis, inline code, lists and only http(s) links', () => {
    const { container } = md(
      '# Title\n\nSome **bold**, *italic* and `x < y` code.\n\n- one\n- two [site](https://example.com/a)\n\n1. first\n2. [bad](javascript:alert(1))',
    );
    expect(container.querySelector('h3')).toHaveTextContent('Title');
    expect(container.querySelector('strong')).toHaveTextContent('bold');
    expect(container.querySelector('em')).toHaveTextContent('italic');
    expect(container.querySelector('code')).toHaveTextContent('x < y');
    expect(container.querySelectorAll('ul li')).toHaveLength(2);
    expect(container.querySelectorAll('ol li')).toHaveLength(2);
    const links = container.querySelectorAll('a');
    expect(links).toHaveLength(1);
    expect(links[0].getAttribute('href')).toBe('https://example.com/a');
    expect(links[0].getAttribute('rel')).toContain('noopener');
    expect(container.querySelector('ol')).toHaveTextContent('bad');
  });

  it('safeHref refuses non-http schemes', () => {
    expect(safeHref('javascript:alert(1)')).toBeNull();
    expect(safeHref('data:text/html,x')).toBeNull();
    expect(safeHref('/relative')).toBeNull();
    expect(safeHref('http://a.example/')).toBe('http://a.example/');
  });

  it('parses blocks', () => {
    expect(parseBlocks('a\nb\n\n---\n> q')).toEqual([
      { type: 'paragraph', lines: ['a', 'b'] },
      { type: 'rule' },
      { type: 'quote', lines: ['q'] },
    ]);
  });
});
