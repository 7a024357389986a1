/** A minimal typed event emitter; a throwing listener never reaches the emitter's caller. */
export interface Emitter<Events extends object> {
  on<Name extends keyof Events>(name: Name, listener: (payload: Events[Name]) => void): () => void;
  emit<Name extends keyof Events>(name: Name, payload: Events[Name]): void;
}

export function createEmitter<Events extends object>(): Emitter<Events> {
  // No prototype: on('constructor') or on('__proto__') must find no inherited value.
  const listeners: { [Name in keyof Events]?: Array<(payload: Events[Name]) => void> } = Object.create(null);
  return {
    on(name, listener) {
      (listeners[name] ||= []).push(listener);
      return () => {
        listeners[name] = listeners[name]?.filter((l) => l !== listener);
      };
    },
    emit(name, payload) {
      for (const listener of listeners[name] || []) {
        try {
          listener(payload);
        } catch {
          // A host page's listener bug must not stop delivery.
        }
      }
    },
  };
}
