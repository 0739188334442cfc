/**
 * A model card's Markdown as safe HTML. Cards are written by anyone with editor rights (or come
 * from a pushed README.md), so their HTML is sanitised before it reaches the page; marked and
 * DOMPurify load only when a card is shown, outside the initial bundle.
 */
export async function renderMarkdown(markdown: string): Promise<string> {
  const [{ marked }, { default: DOMPurify }] = await Promise.all([import('marked'), import('dompurify')]);
  // The card sits under the page's h2, so its headings step down two levels: the page keeps its one h1.
  const html = await marked.parse(markdown, {
    gfm: true,
    walkTokens: (token) => {
      if (token.type === 'heading') token.depth = Math.min(6, token.depth + 2);
    },
  });
  return DOMPurify.sanitize(html, { USE_PROFILES: { html: true } });
}
