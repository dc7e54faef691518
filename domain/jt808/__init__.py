"""JT/T 808 (2013 and 2019), the protocol of China's vehicle terminals, as a pure codec: no sockets, no clock.

The gateway feeds a connection's bytes to a `framing.Framer` and gets frames (or a reason for each bad one);
`header.parse_packet` splits a frame into its header and body; `reassembly.Reassembler` joins a multi-packet
message; `messages.decode` reads a body; `responses` builds the platform's answers. Every refusal is one
`errors.InvalidFrame` carrying a dead-letter `Reason`. `stream.TerminalStream` chains them for one connection:
bytes in, `Received` messages, `Kept` packets and `Refused` bytes (with their reason) out.
"""
