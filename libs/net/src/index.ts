/** What every network adapter shares: listener lifecycle, stream framing, TLS material, limits, metrics, ACKs. */
export {};
