import { useEffect, useState } from 'react';
import { parseCard } from '@berth/core';
import { client } from '../../api';
import { useQuery } from '../../use-query';
import { renderMarkdown } from './markdown';

/** A version's model card, rendered from its Markdown body (front matter left out), sanitised. */
export function ModelCard({ model, version }: { model: string; version: number }) {
  const card = useQuery(() => client().getCard(model, version), [model, version]);
  const [html, setHtml] = useState<string | null>(null);
  const text = card.status === 'ok' ? card.data.text : null;
  useEffect(() => {
    let live = true;
    setHtml(null);
    if (text !== null) void renderMarkdown(bodyOf(text)).then((h) => live && setHtml(h));
    return () => {
      live = false;
    };
  }, [text]);
  if (card.status === 'error') return <p className="error">Could not load the model card: {card.error.message}</p>;
  return (
    <section aria-labelledby="card-heading" className="model-card">
      <h2 id="card-heading">
        Model card{' '}
        <span className="muted">
          (version {version}
          {card.status === 'ok' ? `, ${card.data.source}` : ''})
        </span>
      </h2>
      {html === null ? (
        <p aria-live="polite">Loading the card…</p>
      ) : (
        // biome-ignore lint/security/noDangerouslySetInnerHtml: sanitised by DOMPurify in renderMarkdown
        <div className="card-body" dangerouslySetInnerHTML={{ __html: html }} />
      )}
    </section>
  );
}

function bodyOf(text: string): string {
  try {
    return parseCard(text).body;
  } catch {
    // A card whose front matter does not parse is still shown, as written.
    return text;
  }
}
