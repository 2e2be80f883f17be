// The official openai JavaScript SDK against the gateway, unpatched: an image, a video, its
// extension and its edit, and an alias. Run by tests/e2e/test_videos_followups.py, which starts the
// gateway (OPENAI_BASE_URL, OPENAI_API_KEY) and reads the JSON this prints.
import OpenAI from "openai";

const client = new OpenAI({ maxRetries: 0 });
const group = process.env.GROUP ?? "";

async function finished(id) {
  for (let i = 0; i < 600; i += 1) {
    const video = await client.videos.retrieve(id);
    if (video.status === "completed" || video.status === "failed") return video;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`${id} never finished`);
}

async function isMp4(id) {
  const content = await client.videos.downloadContent(id);
  const bytes = new Uint8Array(await content.arrayBuffer());
  return new TextDecoder().decode(bytes.slice(4, 8)) === "ftyp";
}

const image = await client.images.generate({
  model: "gpt-image-1",
  prompt: "a red fox in the snow",
  size: "1536x1024",
  output_format: "jpeg",
});
const jpeg = Buffer.from(image.data[0].b64_json, "base64");

const created = await client.videos.create({ model: `veo_3_1-fast${group}`, prompt: "a lighthouse at dusk" });
const video = await finished(created.id);
const extension = await finished(
  (await client.videos.extend({ video: { id: video.id }, prompt: "the beam sweeps on", seconds: "8" })).id,
);
const edit = await finished((await client.videos.edit({ video: { id: video.id }, prompt: "make it snow" })).id);
const alias = await client.models.retrieve("sora-2");

console.log(
  JSON.stringify({
    image: { format: image.output_format, jpeg: jpeg[0] === 0xff && jpeg[1] === 0xd8, count: image.data.length },
    video: { status: video.status, mode: video.mode, mp4: await isMp4(video.id) },
    extension: { status: extension.status, mode: extension.mode, seconds: extension.seconds },
    edit: { status: edit.status, mode: edit.mode, mp4: await isMp4(edit.id) },
    alias: { id: alias.id, alias_of: alias.alias_of },
  }),
);
