// An integer edited in place in a table cell (priority, weight): saved on
// Enter or when the field loses focus, if it changed and is an integer.
import { useEffect, useRef, useState } from 'react';
import { TextInput } from '@mantine/core';

export function InlineNumber({
  value,
  label,
  min,
  onSave,
}: {
  value: number;
  label: string;
  min?: number;
  onSave: (n: number) => Promise<unknown>;
}) {
  const [text, setText] = useState(String(value));
  const [busy, setBusy] = useState(false);
  const [bad, setBad] = useState(false);
  // The value last stored: the prop, or what was just saved before the list reloads.
  const stored = useRef(value);
  useEffect(() => {
    stored.current = value;
    setText(String(value));
  }, [value]);

  const commit = async () => {
    const s = text.trim();
    if (s === String(stored.current)) return;
    if (!/^-?\d+$/.test(s) || (min !== undefined && parseInt(s, 10) < min)) {
      setBad(true);
      return;
    }
    setBad(false);
    setBusy(true);
    const n = parseInt(s, 10);
    try {
      await onSave(n);
      stored.current = n;
    } catch {
      setText(String(stored.current));
    } finally {
      setBusy(false);
    }
  };

  return (
    <TextInput
      size="xs"
      w={72}
      aria-label={label}
      inputMode="numeric"
      value={text}
      readOnly={busy}
      error={bad}
      onChange={(e) => {
        setText(e.currentTarget.value);
        setBad(false);
      }}
      onBlur={() => void commit()}
      onKeyDown={(e) => {
        if (e.key === 'Enter') {
          e.preventDefault();
          void commit();
        } else if (e.key === 'Escape') {
          setText(String(stored.current));
          setBad(false);
        }
      }}
    />
  );
}
