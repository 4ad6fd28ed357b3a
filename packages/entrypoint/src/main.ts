console.log("entrypoint: not yet");
