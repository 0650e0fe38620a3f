/**
 * Request bodies in Kubernetes protobuf, turned into the JSON the rest of kube-sim reads. Responses stay JSON:
 * kubectl asks for `application/vnd.kubernetes.protobuf,application/json` and accepts either.
 */
import { ApiError } from '../errors';
import { decodedKinds, decodeObject, ProtobufDecodeError, UnsupportedKindError } from './decode';

export { decodedKinds, decodeObject, ProtobufDecodeError, UnsupportedKindError } from './decode';

export const PROTOBUF_MEDIA_TYPE = 'application/vnd.kubernetes.protobuf';

/**
 * The JSON text of a protobuf request body. 400 BadRequest when the bytes do not decode, 415 for a kind
 * without a field table or a media type other than Kubernetes protobuf (CBOR), naming the way around it.
 */
export function protobufBodyToJson(body: Buffer, contentType: string): Buffer {
  const media = contentType.split(';')[0]!.trim();
  if (media !== PROTOBUF_MEDIA_TYPE) {
    throw new ApiError(
      415,
      'UnsupportedMediaType',
      `kube-sim does not read ${media} bodies - send application/json or ${PROTOBUF_MEDIA_TYPE} (kubectl: 'kubectl create -f' / 'kubectl apply -f' send JSON)`,
    );
  }
  try {
    return Buffer.from(JSON.stringify(decodeObject(body)));
  } catch (error) {
    if (error instanceof UnsupportedKindError) {
      throw new ApiError(
        415,
        'UnsupportedMediaType',
        `kube-sim cannot decode protobuf bodies of ${error.apiVersion ? `${error.apiVersion}, ` : ''}Kind=${error.kind} (it decodes ${decodedKinds.join(', ')}) - send this object as JSON instead, e.g. 'kubectl create -f' / 'kubectl apply -f' with a manifest`,
      );
    }
    if (error instanceof ProtobufDecodeError) {
      throw new ApiError(
        400,
        'BadRequest',
        `the body of the request could not be decoded as protobuf: ${error.message}`,
      );
    }
    throw error;
  }
}
