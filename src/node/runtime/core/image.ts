/** Split `registry/path/name:tag@digest` into repository, its last path component, and the tag. */
export function imageParts(image: string): { repository: string; name: string; tag: string } {
  const at = image.indexOf('@');
  const noDigest = at >= 0 ? image.slice(0, at) : image;
  const slash = noDigest.lastIndexOf('/');
  const colon = noDigest.lastIndexOf(':');
  const tag = colon > slash ? noDigest.slice(colon + 1) : '';
  const repository = colon > slash ? noDigest.slice(0, colon) : noDigest;
  return { repository, name: repository.slice(slash + 1), tag };
}
