/**
 * A byte-level guard in front of the embedded broker: it reads each MQTT
 * packet's fixed header (type byte, then the "remaining length" varint) as
 * the bytes stream in, and cuts the connection as soon as a packet announces
 * more than `maxPacketBytes`, or its length field is malformed. aedes itself
 * would buffer a packet of any announced size (up to 256 MB) before anything
 * could look at it; this keeps one hostile client from costing the broker
 * its memory. The bytes pass through unchanged.
 */
import { Transform, type TransformCallback } from 'node:stream';

export class PacketTooLargeError extends Error {
  readonly code = 'MQTT_PACKET_TOO_LARGE';
  constructor(
    readonly size: number,
    readonly max: number,
  ) {
    super(`an MQTT packet of ${size} bytes announced; at most ${max} are accepted`);
  }
}

export class MalformedPacketError extends Error {
  readonly code = 'MQTT_MALFORMED_LENGTH';
  constructor() {
    super('malformed MQTT remaining-length field');
  }
}

export class PacketGuard extends Transform {
  private phase: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private left = 0;

  constructor(private readonly maxPacketBytes: number) {
    super();
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let i = 0;
    while (i < chunk.length) {
      switch (this.phase) {
        case 'type':
          i++;
          this.phase = 'length';
          this.length = 0;
          this.multiplier = 1;
          this.lengthBytes = 0;
          break;
        case 'length': {
          const byte = chunk[i++] as number;
          this.length += (byte & 0x7f) * this.multiplier;
          this.multiplier *= 128;
          this.lengthBytes++;
          if ((byte & 0x80) !== 0) {
            if (this.lengthBytes >= 4) return callback(new MalformedPacketError());
            break;
          }
          if (this.length > this.maxPacketBytes) return callback(new PacketTooLargeError(this.length, this.maxPacketBytes));
          this.left = this.length;
          this.phase = this.left === 0 ? 'type' : 'body';
          break;
        }
        case 'body': {
          const take = Math.min(this.left, chunk.length - i);
          i += take;
          this.left -= take;
          if (this.left === 0) this.phase = 'type';
          break;
        }
      }
    }
    callback(null, chunk);
  }
}
