/** A minimal typed event emitter; a throwing listener never reaches the emitter's caller. */
export interface Emitter<Events extends object> {
  on<Name extends keyof Events>(name: Name, listener: (payload: Events[Name]) => void): () => void;
  /** `payload` is a function when building it costs something: it runs only if someone listens. */
  emit<Name extends keyof Events>(name: Name, payload: () => Events[Name]): void;
  has(name: keyof Events): boolean;
}

export function createEmitter<Events extends object>(): Emitter<Events> {
  const listeners = new Map<keyof Events, Set<(payload: any) => void>>();
  return {
    on(name, listener) {
      if (typeof listener !== 'function') return () => {};
      const set = listeners.get(name) ?? listeners.set(name, new Set()).get(name)!;
      // A wrapper, so subscribing the same function twice gives two subscriptions.
      const entry = (payload: Events[typeof name]) => listener(payload);
      set.add(entry);
      return () => void set.delete(entry);
    },
    emit(name, payload) {
      const set = listeners.get(name);
      if (!set?.size) return;
      const value = payload();
      for (const listener of [...set]) {
        try {
          listener(value);
        } catch {
          // A listener's bug must not stop delivery.
        }
      }
    },
    has: (name) => !!listeners.get(name)?.size,
  };
}
