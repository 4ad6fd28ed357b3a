console.log("pipod: not yet");
